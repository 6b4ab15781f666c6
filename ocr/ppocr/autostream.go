package ppocr

import (
	"context"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/streamwatch/streamwatch/lines"
)

// Stream returns the Proposer of one stream: PP-OCR's boxes added to the
// classical detector's lines where it finds none or only fragments.
func (a *Auto) Stream() lines.Proposer { return &autoStream{pp: a.PP} }

var _ lines.Observer = (*autoStream)(nil)

// autoStream decides where a stream's PP-OCR detections run: over the
// regions of the picture that changed since the detector last looked
// there, as a budget allows (credit); it keeps the boxes found while the
// picture under them stays.
type autoStream struct {
	pp     *Engine
	boxes  []Box
	thumb  []int32 // mean luma per cell of the last frame
	tw, th int
	// table is the last frame's, spare the memory of the next; shift how
	// the picture moved since the last frame (Follow).
	table, spare moveTable
	shift        image.Point
	// unseen are the cells where the picture changed since the scan last
	// looked there, nil for none, and strips those of them a pan brought
	// in at an edge (edge, below); credit how much of a frame's area (at
	// autoScanLongSide) the scan may still cover: it earns 1/autoCadence
	// a sampled frame, up to one frame.
	unseen, strips []bool
	credit         float64
	// edge are the cells the picture brought in at an edge as it moved
	// (moveTable.fresh), not scanned yet; edgeAge how many frames the
	// oldest of them has waited. They wait for autoCadence frames (a strip
	// a frame wide costs the detector almost what a whole frame does, and
	// a line coming in at an edge is not whole yet).
	edge    []bool
	edgeAge int
	// deferred are the cells that changed inside the classical detector's
	// lines, to be judged once those are read: explained by a sure line,
	// or not (a doubtful reading, or none within autoWait frames).
	deferred []deferredCell

	mu sync.Mutex
	// sure are the boxes of classical lines Tesseract read with
	// confidence (guarded by mu): a change inside one is the line's own
	// (it came, went or changed), which Tesseract reads, and is not
	// scanned. doubtful are those of the lines read since the last frame
	// without (guarded by mu).
	sure, doubtful []image.Rectangle
	// spans are the whole lines PP-OCR read for classical fragments since
	// the last frame (guarded by mu): kept as boxes, proposed while the
	// picture under them stays, as the scan's are.
	spans []image.Rectangle

	scans   int     // the detector's runs, for tests
	scanned float64 // what they cost, in frames at autoScanLongSide, for tests
}

// deferredCell is a cell that changed inside the classical line box, the
// frames ago it did.
type deferredCell struct {
	i      int
	box    image.Rectangle
	frames int
}

// autoWait is how many frames a change inside a classical line waits for
// the line's reading: the reads of a frame or two may still be out when the
// next frame comes (lines.Reader keeps as many in flight as the engine has
// workers).
const autoWait = 2

// Follow notes how the picture moved since the frame before (see
// lines.Follower).
func (s *autoStream) Follow(shift image.Point) { s.shift = shift }

// Observe keeps the boxes of the classical lines Tesseract read with
// confidence (autoExplains) and characters enough for their width, and
// notes those of the others read.
func (s *autoStream) Observe(crops []lines.Crop, read []lines.Reading) {
	glyphs := map[image.Rectangle]image.Rectangle{}
	for _, c := range crops {
		if c.Quad == (lines.Quad{}) {
			glyphs[c.Box] = c.Text
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sure := map[image.Rectangle]bool{}
	for _, r := range read {
		g, ok := glyphs[r.Box]
		if !ok || r.Engine == s.pp.Name() || r.Confidence < autoExplains || !aLine(r.Text, g) || tooFew(r.Text, g) {
			continue
		}
		sure[r.Box] = true
		if !slices.Contains(s.sure, r.Box) {
			s.sure = append(s.sure, r.Box)
		}
	}
	for _, c := range crops {
		if !sure[c.Box] {
			s.doubtful = append(s.doubtful, c.Box)
		}
	}
	for _, r := range read {
		if r.Engine == s.pp.Name() && !r.Span.Empty() && r.Confidence >= autoSure {
			s.spans = append(s.spans, r.Span)
		}
	}
}

// Propose merges the stream's PP-OCR boxes into found: a tilted or vertical
// box replaces the classical boxes whose centre it holds; a level box is
// added unless a classical box is the same line.
func (s *autoStream) Propose(ctx context.Context, img *image.Gray, found []lines.Crop) ([]lines.Crop, error) {
	if err := s.update(ctx, img, found); err != nil {
		return nil, err
	}
	out := found
	for i := range s.boxes {
		b := &s.boxes[i]
		c := b.Crop(img.Rect)
		if c.Box.Empty() {
			continue
		}
		if b.tilted() {
			out = dropInside(out, *b)
			out = append(out, c)
			continue
		}
		if pieceOfAny(found, c.Box) {
			// A piece of a classical line (a scan whose region cut the
			// line finds its end), which is read whole.
			continue
		}
		if b.coarse {
			// Refined once it is to be read: a coarse box of a line that a
			// classical box holds (a caption over a moving picture, found
			// by every scan of it) costs no full-scale detection.
			if overlapsAny(found, c.Box, autoSameCoarse) {
				continue
			}
			if err := s.refine(ctx, img, s.boxes[i:i+1]); err != nil {
				return nil, err
			}
			c = b.Crop(img.Rect)
		}
		if !c.Box.Empty() && !sameAsAny(found, c.Box) {
			out = append(out, c)
		}
	}
	return out, nil
}

// update forgets the boxes over which the picture changed and scans the
// region that changed as the credit allows, but for the changes that
// classical lines read with confidence account for. A change inside a
// classical line waits for the line's reading; in the first frame, the
// classical lines are what changed (a picture that stays is not scanned).
// When the picture moved (Follow), what moved with it is not a change: a
// box over it moves along, and the scan looks only at what is new.
func (s *autoStream) update(ctx context.Context, img *image.Gray, found []lines.Crop) error {
	thumb, tw, th := summary(img)
	s.credit = min(s.credit+1.0/autoCadence, 1)
	s.spare.fill(img)
	var changed, fresh []bool
	if s.thumb == nil || tw != s.tw || th != s.th {
		s.boxes, s.unseen, s.credit, s.deferred = nil, nil, autoFirstCredit, nil
		s.strips, s.edge, s.edgeAge = nil, nil, 0
		s.mu.Lock()
		s.doubtful = nil
		s.mu.Unlock()
		changed = cellsOf(found, tw, th)
		fresh = changed
	} else if changed = changedCells(s.thumb, thumb); changed != nil {
		fresh = changed
		moved := false
		var entered []bool
		if s.shift != (image.Point{}) {
			fresh, entered, moved = s.table.fresh(thumb, tw, th, s.shift, changed)
		}
		if moved {
			s.follow(tw, th, entered)
		}
		kept := s.boxes[:0]
		for _, b := range s.boxes {
			if !b.changed(changed, tw, th) {
				kept = append(kept, b)
			} else if !moved {
				continue
			} else if m, ok := b.moved(s.shift, img.Rect); ok && (fresh == nil || !m.changed(fresh, tw, th)) {
				kept = append(kept, m)
			}
		}
		s.boxes = kept
	}
	s.thumb, s.tw, s.th = thumb, tw, th
	s.table, s.spare = s.spare, s.table
	s.keepSpans()
	unexplained := s.judgeDeferred(tw, th)
	s.mu.Lock()
	sure := slices.Clone(s.sure)
	s.mu.Unlock()
	note := func(cells, to []bool) {
		for i, c := range cells {
			if !c || holds(sure, i, tw) {
				continue
			}
			if b, ok := within(found, i, tw); ok {
				s.deferred = append(s.deferred, deferredCell{i: i, box: b})
			} else {
				to[i] = true
			}
		}
	}
	note(fresh, unexplained)
	if s.edge != nil {
		if s.edgeAge++; s.edgeAge >= autoCadence {
			strips := make([]bool, tw*th)
			note(s.edge, strips)
			s.strips = union(s.strips, strips)
			s.edge, s.edgeAge = nil, 0
		}
	}
	s.forgetSure(changed, tw)
	if slices.Contains(unexplained, true) {
		s.unseen = union(s.unseen, unexplained)
	}
	return s.scan(ctx, img)
}

// keepSpans adds the lines read for classical fragments to the boxes, but
// for those a box already holds. They stay while the picture under them
// does, whatever a coarser scan over them finds (a faint line it misses).
func (s *autoStream) keepSpans() {
	s.mu.Lock()
	spans := s.spans
	s.spans = nil
	s.mu.Unlock()
	for _, r := range spans {
		held := false
		for _, b := range s.boxes {
			if b.bounds().Intersect(r) == r {
				held = true
				break
			}
		}
		if !held {
			b := levelBox(r)
			b.read = true
			s.boxes = append(s.boxes, b)
		}
	}
}

// judgeDeferred returns the deferred cells that are not explained: their
// line was read and is not sure, or no reading came within autoWait
// frames; it keeps those still waiting.
func (s *autoStream) judgeDeferred(tw, th int) []bool {
	s.mu.Lock()
	sure, doubtful := slices.Clone(s.sure), s.doubtful
	s.doubtful = nil
	s.mu.Unlock()
	unexplained := make([]bool, tw*th)
	waiting := s.deferred[:0]
	for _, d := range s.deferred {
		switch {
		case holds(sure, d.i, tw):
		case slices.Contains(doubtful, d.box) || d.frames+1 >= autoWait:
			unexplained[d.i] = true
		default:
			d.frames++
			waiting = append(waiting, d)
		}
	}
	s.deferred = waiting
	return unexplained
}

// within returns the box of the crop in which cell i (of a summary tw cells
// wide) lies, as holds grows it.
func within(crops []lines.Crop, i, tw int) (image.Rectangle, bool) {
	p := cellCentre(i, tw)
	for _, c := range crops {
		if p.In(c.Box.Inset(-c.Box.Dy() - thumbCell)) {
			return c.Box, true
		}
	}
	return image.Rectangle{}, false
}

// forgetSure drops the sure boxes over which most cells changed: they
// accounted for this change (their line went or changed) and are read
// again if they are still there.
func (s *autoStream) forgetSure(changed []bool, tw int) {
	if changed == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sure = slices.DeleteFunc(s.sure, func(r image.Rectangle) bool {
		n, c := 0, 0
		for i := range changed {
			if cellCentre(i, tw).In(r) {
				n++
				if changed[i] {
					c++
				}
			}
		}
		return float64(c) > autoBoxChanged*float64(max(n, 1))
	})
}

// holds reports whether cell i (of a summary tw cells wide) lies within
// one of rs, grown by its height and a cell (a caption's box reaches past
// its glyphs' margin, by about the glyphs' height at most).
func holds(rs []image.Rectangle, i, tw int) bool {
	p := cellCentre(i, tw)
	for _, r := range rs {
		if p.In(r.Inset(-r.Dy() - thumbCell)) {
			return true
		}
	}
	return false
}

// cellCentre is the frame point at the centre of cell i.
func cellCentre(i, tw int) image.Point {
	return image.Pt(i%tw*thumbCell+thumbCell/2, i/tw*thumbCell+thumbCell/2)
}

// cellsOf returns the cells whose centre lies in one of the crops' boxes.
func cellsOf(crops []lines.Crop, tw, th int) []bool {
	out := make([]bool, tw*th)
	for i := range out {
		p := cellCentre(i, tw)
		for _, c := range crops {
			if p.In(c.Box) {
				out[i] = true
				break
			}
		}
	}
	return out
}

// scan runs the detector over the region changed since it last looked
// (around every cell of it: a sticker's cells change unevenly, and the
// detector needs the whole line in view) and over the strips a pan brought
// in (see cover), at autoScanLongSide, or coarser where the credit does
// not cover their share of the frame at that scale (the detector's cost
// goes with the area it sees), and not below autoScanLeast.
func (s *autoStream) scan(ctx context.Context, img *image.Gray) error {
	if s.unseen == nil && s.strips == nil {
		return nil
	}
	var regions []image.Rectangle
	if s.strips != nil {
		for _, c := range cover(s.strips, s.tw, s.th) {
			regions = append(regions, image.Rect((c.Min.X-1)*thumbCell, (c.Min.Y-1)*thumbCell, (c.Max.X+1)*thumbCell, (c.Max.Y+1)*thumbCell).Intersect(img.Rect))
		}
	}
	if s.unseen != nil {
		// Grown by a quarter of its short side: the detector misses a
		// glyph it sees at the edge of what it looks at.
		r := cellsRegion(s.unseen, s.tw, s.th)
		regions = append(regions, r.Inset(-min(r.Dx(), r.Dy())/4).Intersect(img.Rect))
	}
	regions = mergedClose(regions)
	total := 0
	for _, r := range regions {
		total += area(r)
	}
	share := float64(total) / float64(max(area(img.Rect), 1))
	long := float64(autoScanLongSide) * math.Sqrt(min(s.credit/share, 1))
	if long < autoScanLeast {
		return nil
	}
	cost := share * (long / autoScanLongSide) * (long / autoScanLongSide)
	s.credit -= cost
	s.scanned += cost
	s.unseen, s.strips = nil, nil
	s.scans++
	for _, r := range regions {
		if err := s.detect(ctx, img, r, int(long)); err != nil {
			return err
		}
	}
	return nil
}

// follow moves what the stream waits to look at with the picture: the
// cells not scanned yet (also where they were, for what did not move),
// those brought in at an edge, with those just brought in (entered), and
// the deferred ones.
func (s *autoStream) follow(tw, th int, entered []bool) {
	if s.unseen != nil {
		s.unseen = union(s.unseen, shiftCells(s.unseen, tw, th, s.shift))
	}
	if s.strips != nil {
		s.strips = union(s.strips, shiftCells(s.strips, tw, th, s.shift))
	}
	if s.edge != nil {
		s.edge = shiftCells(s.edge, tw, th, s.shift)
	}
	if entered != nil {
		s.edge = union(s.edge, entered)
	}
	kept := s.deferred[:0]
	for _, d := range s.deferred {
		if j, ok := shiftCell(d.i, tw, th, s.shift); ok {
			d.i = j
			kept = append(kept, d)
		}
	}
	s.deferred = kept
}

// union returns the cells set in a or b (b as long as a, or a nil).
func union(a, b []bool) []bool {
	if a == nil {
		return slices.Clone(b)
	}
	for i, c := range b {
		a[i] = a[i] || c
	}
	return a
}

// detect runs the detector over region of img at longSide (of the whole
// frame) and puts the boxes it finds in place of those in the region. A
// box the region's edge cuts (a line going on past it) has the detector
// look again, once, over the region grown around it.
func (s *autoStream) detect(ctx context.Context, img *image.Gray, region image.Rectangle, longSide int) error {
	boxes, err := s.detectIn(ctx, img, region, longSide)
	if err != nil {
		return err
	}
	grown := region
	for _, b := range boxes {
		if r := b.bounds(); cut(r, region, img.Rect) {
			g := max(r.Dx(), r.Dy()) / 2
			grown = grown.Union(r.Inset(-g)).Intersect(img.Rect)
		}
	}
	if grown != region {
		region = grown
		if boxes, err = s.detectIn(ctx, img, region, longSide); err != nil {
			return err
		}
	}
	if longSide < defaultDetLen {
		for i := range boxes {
			boxes[i].coarse = !boxes[i].tilted()
		}
	}
	// A box the region holds only in part stays (the detector saw only
	// part of its line, and a smaller box it found there is a piece of
	// it), unless the detector found a larger one for its line.
	var partly []image.Rectangle
	for _, b := range s.boxes {
		if r := b.bounds(); r.Overlaps(region) && !mostlyIn(r, region) && !largerLine(boxes, r) {
			partly = append(partly, r)
		}
	}
	kept := boxes[:0]
	for _, b := range boxes {
		if !inAny(b.bounds(), partly) {
			kept = append(kept, b)
		}
	}
	boxes = kept
	found := len(boxes)
	for _, b := range s.boxes {
		r := b.bounds()
		if !r.Overlaps(region) || !mostlyIn(r, region) && !largerLine(boxes[:found], r) || b.read && !sameAsBox(boxes[:found], r) {
			boxes = append(boxes, b)
		}
	}
	s.boxes = boxes
	return nil
}

// largerLine reports whether one of boxes is r's line (sameLine) and
// larger.
func largerLine(boxes []Box, r image.Rectangle) bool {
	for _, b := range boxes {
		if o := b.bounds(); sameLine(o, r) && area(o) > area(r) {
			return true
		}
	}
	return false
}

// pieceOfAny reports whether r is a piece of the line of one of crops:
// half of it or more inside the crop's box, and less than half as wide.
func pieceOfAny(crops []lines.Crop, r image.Rectangle) bool {
	for _, c := range crops {
		in := r.Intersect(c.Box)
		if 2*r.Dx() < c.Box.Dx() && 2*area(in) >= area(r) {
			return true
		}
	}
	return false
}

// mostlyIn reports whether nine tenths of r lie inside region.
func mostlyIn(r, region image.Rectangle) bool {
	in := r.Intersect(region)
	return 10*area(in) >= 9*area(r)
}

// inAny reports whether half of r or more lies inside one of rs, r the
// smaller.
func inAny(r image.Rectangle, rs []image.Rectangle) bool {
	for _, o := range rs {
		in := r.Intersect(o)
		if area(r) <= area(o) && 2*area(in) >= area(r) {
			return true
		}
	}
	return false
}

// refine puts in place of each coarse box (a level box a scan found below
// full scale) the line the detector finds at full scale around it: a
// coarse box of a line in a script face, or a faint one, cuts or
// overshoots its glyphs, which the recogniser then misreads ("AAf" for
// "AAA"). The box is kept, no longer coarse, where the detector finds no
// line at full scale. Propose refines a box only when it is to be read.
func (s *autoStream) refine(ctx context.Context, img *image.Gray, boxes []Box) error {
	for i, b := range boxes {
		if !b.coarse {
			continue
		}
		line, err := lineAcross(ctx, s.pp, img, b.bounds())
		if err != nil {
			return err
		}
		boxes[i].coarse = false
		if !line.Empty() {
			nb := levelBox(line)
			nb.Score = b.Score
			boxes[i] = nb
		}
	}
	return nil
}

// detectIn runs the detector over region at longSide of the whole frame;
// each level box is lengthened at both ends by autoPad times its short
// side (at reduced scale, the detector's boxes tend to cut a line's first
// or last glyph).
func (s *autoStream) detectIn(ctx context.Context, img *image.Gray, region image.Rectangle, longSide int) ([]Box, error) {
	long := max(1, int(math.Ceil(float64(max(region.Dx(), region.Dy()))*float64(longSide)/float64(max(img.Rect.Dx(), img.Rect.Dy())))))
	boxes, err := s.pp.Detect(ctx, img, region, long)
	for i, b := range boxes {
		if !b.tilted() {
			boxes[i] = b.lengthened(autoPad, img.Rect)
		}
	}
	return boxes, err
}

// cut reports whether r reaches an edge of region (within autoCutEdge
// pixels) that is not an edge of the frame.
func cut(r, region, frame image.Rectangle) bool {
	near := func(a, b int) bool { return abs(a-b) <= autoCutEdge }
	return (region.Min.X > frame.Min.X && near(r.Min.X, region.Min.X)) ||
		(region.Min.Y > frame.Min.Y && near(r.Min.Y, region.Min.Y)) ||
		(region.Max.X < frame.Max.X && near(r.Max.X, region.Max.X)) ||
		(region.Max.Y < frame.Max.Y && near(r.Max.Y, region.Max.Y))
}

// lengthened returns b with its long sides longer by pad times its short
// side at each end, within frame.
func (b Box) lengthened(pad float64, frame image.Rectangle) Box {
	q := b.q
	along, across := q[1].sub(q[0]), q[3].sub(q[0])
	front, back := [2]int{1, 2}, [2]int{0, 3} // the corners each end holds
	if across.dot(across) > along.dot(along) {
		along, across = across, along
		front, back = [2]int{3, 2}, [2]int{0, 1}
	}
	n := math.Hypot(along.x, along.y)
	if n == 0 {
		return b
	}
	d := along.scale(pad * math.Hypot(across.x, across.y) / n)
	for _, i := range front {
		q[i] = q[i].add(d)
	}
	for _, i := range back {
		q[i] = q[i].sub(d)
	}
	out := Box{Score: b.Score}
	for i, p := range q {
		p = pt{clampF(p.x, float64(frame.Min.X), float64(frame.Max.X-1)), clampF(p.y, float64(frame.Min.Y), float64(frame.Max.Y-1))}
		out.q[i], out.Quad[i] = p, p.image()
	}
	return out
}

// aLine reports whether text, read in glyphs, is a line: three characters
// or more in a box wider than tall (a character or two, one of a column
// or a fragment of a tilted line, is not).
func aLine(text string, glyphs image.Rectangle) bool {
	return utf8.RuneCountInString(strings.Join(strings.Fields(text), "")) >= 3 && glyphs.Dx() > glyphs.Dy()
}
