package lines

import (
	"context"
	"image"
	"slices"
	"sync"
	"sync/atomic"
)

// gate remembers the text lines of a stream's last frames so that a line
// whose pixels have not changed is not read again: static captions stay up
// for minutes, and reading is the main cost. A gate belongs to one stream.
//
// check and the entries it returns are used in frame order by one goroutine
// (the one that starts reads); an entry's lines are filed by the goroutine
// that read them, which then settles it, which is why a reading lives in
// its entry and not in the gate.
type gate struct {
	// maxChanged is the largest fraction of a line's pixels that may have
	// flipped between ink and background for the line to count as unchanged.
	maxChanged float64
	entries    []*entry
}

// entry is one remembered line: the pixels it was read from and, once the
// read is done, what the engine made of them.
type entry struct {
	crop      Crop
	threshold uint8
	// margin is how far a pixel must move, besides crossing threshold, to
	// count as changed: a quarter of the line's contrast, so that noise and
	// a background showing through a translucent box (moving under it, or
	// coded anew in a keyframe) do not make the line new.
	margin int
	pix    []uint8 // crop.Box's pixels, row by row
	// lines is what was read in crop.Box, filed by the goroutine that read
	// it before it settles the entry; read only after settled is closed.
	lines []Line
	// reads counts the reads of this line's pixels, this one included: a
	// forgotten entry's successor, over unchanged pixels, counts on.
	reads int
	// retry says that the frame before had a line in the same row: a
	// caption stays (changed, or moving along), a texture's lines seldom do.
	retry     bool
	lo, hi    uint8 // the darkest and lightest of pix
	forgotten atomic.Bool
	settled   chan struct{} // closed by settle
	once      sync.Once
}

// settle says that the entry's lines are filed and whether to forget it is
// decided: a later frame's check may reuse e (or, forgotten, read the line
// again). check waits for it, so that a doubtful reading is retried even
// when later frames come before the read is done (a replay, reads behind).
// Safe to call more than once.
func (e *entry) settle() { e.once.Do(func() { close(e.settled) }) }

// forget keeps later frames from reusing e's reading (a doubtful one, worth
// another try on the next frame): the line is read again, as if it had
// changed. Call it before settle.
func (e *entry) forget() { e.forgotten.Store(true) }

// check sorts crops into lines unchanged since an earlier frame (their
// entries, to reuse) and lines to read, each with a new entry, returned in
// fresh; the caller files their lines and settles them once read. Entries
// not seen in this frame are forgotten.
// A line unchanged since an entry not yet settled waits for it (see settle);
// if ctx ends first, the line is read again.
//
// shift is how the whole picture moved since the frame checked before (a
// pan): a line found there moved by it, over the same pixels, is reused too
// — text in the scene moves with it, an overlay does not.
func (g *gate) check(ctx context.Context, img *image.Gray, crops []Crop, shift image.Point) (reused, fresh []*entry) {
	maxChanged := g.maxChanged
	if maxChanged <= 0 {
		maxChanged = 0.02
	}
	var keep []*entry
	for _, c := range crops {
		c.Box = c.Box.Intersect(img.Rect)
		if c.Box.Empty() {
			continue
		}
		e, reads := g.find(ctx, img, c, maxChanged)
		if e == nil && shift != (image.Point{}) {
			e = g.findMoved(ctx, img, c, shift, maxChanged)
		}
		if e != nil {
			reused = append(reused, e)
			keep = append(keep, e)
			continue
		}
		e = newEntry(img, c)
		e.reads = reads + 1
		e.retry = g.inRow(c)
		fresh = append(fresh, e)
		keep = append(keep, e)
	}
	g.entries = keep
	return reused, fresh
}

// find returns the entry to reuse for c, or nil and the reads of an
// unchanged but forgotten entry. A line read along a rotated box (Quad) is
// another line than one read upright in about the same place.
func (g *gate) find(ctx context.Context, img *image.Gray, c Crop, maxChanged float64) (*entry, int) {
	reads := 0
	for _, e := range g.entries {
		if (e.crop.Quad == Quad{}) != (c.Quad == Quad{}) || IoU(e.crop.Box, c.Box) < 0.7 || !e.crop.Box.In(img.Rect) {
			continue
		}
		same := e.changed(img) <= maxChanged
		if !same && e.inkChanged(img) > maxChanged {
			continue
		}
		select {
		case <-e.settled:
		case <-ctx.Done():
			continue
		}
		if !same && !e.sure() {
			continue
		}
		if !e.forgotten.Load() {
			return e, 0
		}
		reads = max(reads, e.reads)
	}
	return nil, reads
}

// inRow reports whether the frame before had a line in c's row: at about
// its place, or moved along the row (a marquee).
func (g *gate) inRow(c Crop) bool {
	for _, e := range g.entries {
		if sameRow(e.crop.Box, c.Box) {
			return true
		}
	}
	return false
}

// sameRow reports whether a and b overlap, each over most of the other's
// height: one line of text, moved along its row or not.
func sameRow(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	return !in.Empty() && 10*in.Dy() >= 7*max(a.Dy(), b.Dy())
}

// findMoved returns a new entry for crop c holding the reading of an entry
// whose line moved by shift (give or take moveRefine pixels) with the
// picture to c's place, unchanged; or nil. A doubtful reading is reused
// too: what is behind the line moved with it, so another read would see
// the same pixels (a doubtful line over a background of its own is read
// again while it stays, see Reader).
func (g *gate) findMoved(ctx context.Context, img *image.Gray, c Crop, shift image.Point, maxChanged float64) *entry {
	for _, e := range g.entries {
		if (e.crop.Quad == Quad{}) != (c.Quad == Quad{}) || IoU(e.crop.Box.Add(shift), c.Box) < 0.7 {
			continue
		}
		d, ok := e.movedTo(img, shift, maxChanged)
		if !ok {
			continue
		}
		select {
		case <-e.settled:
		case <-ctx.Done():
			continue
		}
		m := newEntry(img, c)
		m.reads = e.reads
		for _, l := range e.lines {
			l.Box = l.Box.Add(d)
			if !l.Span.Empty() {
				l.Span = l.Span.Add(d)
			}
			l.Chars = slices.Clone(l.Chars)
			for i := range l.Chars {
				l.Chars[i].Box = l.Chars[i].Box.Add(d)
			}
			m.lines = append(m.lines, l)
		}
		m.settle()
		return m
	}
	return nil
}

// moveRefine is how far, in pixels each way, a moved line is looked for
// around where the picture's shift puts it: the shift is measured to a
// pixel or two.
const moveRefine = 2

// movedTo finds where e's line is in img after the picture moved by about
// shift: the move d, within moveRefine of shift, at which at most
// maxChanged of its pixels changed.
func (e *entry) movedTo(img *image.Gray, shift image.Point, maxChanged float64) (image.Point, bool) {
	for dy := -moveRefine; dy <= moveRefine; dy++ {
		for dx := -moveRefine; dx <= moveRefine; dx++ {
			d := shift.Add(image.Point{dx, dy})
			if e.crop.Box.Add(d).In(img.Rect) && e.changedAt(img, d) <= maxChanged {
				return d, true
			}
		}
	}
	return image.Point{}, false
}

func newEntry(img *image.Gray, c Crop) *entry {
	r := c.Box
	e := &entry{crop: c, pix: make([]uint8, 0, r.Dx()*r.Dy()), settled: make(chan struct{})}
	var contrast int
	e.threshold, contrast = meanThreshold(img, r)
	e.margin = contrast / 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := img.PixOffset(r.Min.X, y)
		e.pix = append(e.pix, img.Pix[o:o+r.Dx()]...)
	}
	if len(e.pix) > 0 {
		e.lo, e.hi = slices.Min(e.pix), slices.Max(e.pix)
	}
	return e
}

// sure reports whether e's line read well: a reading, and every one at
// least reuseConfidence. Call it once e is settled.
func (e *entry) sure() bool {
	for _, l := range e.lines {
		if l.Confidence < reuseConfidence {
			return false
		}
	}
	return len(e.lines) > 0
}

// inkChanged returns how many of e's extreme pixels (within an eighth of
// its range of its darkest or its lightest) crossed e's threshold in img,
// as a fraction of them, on the side where the fewest did: a line that
// read well stays the same line while its glyphs' fill or outline does,
// however the background between and around them churns (a caption
// without a box over a moving texture). A side with fewer than minInk
// pixels, or a fiftieth of the box, does not count.
func (e *entry) inkChanged(img *image.Gray) float64 {
	b := e.crop.Box
	t := e.threshold
	near := (e.hi - e.lo) / 8
	var dark, light, darkGone, lightGone int
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):]
		for x := 0; x < b.Dx(); x++ {
			was, v := e.pix[i], row[x]
			switch {
			case was <= e.lo+near:
				dark++
				if v >= t {
					darkGone++
				}
			case was >= e.hi-near:
				light++
				if v < t {
					lightGone++
				}
			}
			i++
		}
	}
	least := max(minInk, len(e.pix)/50)
	out := 1.0
	if dark >= least {
		out = float64(darkGone) / float64(dark)
	}
	if light >= least {
		out = min(out, float64(lightGone)/float64(light))
	}
	return out
}

// minInk is the fewest extreme pixels inkChanged counts on a side.
const minInk = 20

// changed returns the fraction of e's pixels that crossed e's threshold in
// img by more than e's margin.
func (e *entry) changed(img *image.Gray) float64 { return e.changedAt(img, image.Point{}) }

// changedAt is changed for e's line moved by d, which must stay in img.
func (e *entry) changedAt(img *image.Gray, d image.Point) float64 {
	b := e.crop.Box
	t, m := e.threshold, e.margin
	n, i := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X+d.X, y+d.Y):]
		for x := 0; x < b.Dx(); x++ {
			v, was := row[x], e.pix[i]
			if (v < t) != (was < t) && absDiff(v, was) > m {
				n++
			}
			i++
		}
	}
	return float64(n) / float64(max(len(e.pix), 1))
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// meanThreshold splits a line's pixels halfway between the glyphs' colour
// and their median, which separates glyphs from their box robustly enough
// for a change test (engines binarise on their own), also when the box is
// translucent over a busy background: the glyphs' colour is the extreme
// (darkest or lightest) that more pixels lie close to, glyphs being of one
// colour and a background of many. contrast is the distance between the
// median and the glyphs' colour. When glyphs are most of the box, the
// threshold halves the range of its pixels.
func meanThreshold(img *image.Gray, r image.Rectangle) (threshold uint8, contrast int) {
	var hist [256]int
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		for x := 0; x < r.Dx(); x++ {
			hist[row[x]]++
			n++
		}
	}
	lo, hi, median, seen := -1, 0, 0, 0
	for v, c := range hist {
		if c == 0 {
			continue
		}
		if lo < 0 {
			lo = v
		}
		hi = v
		if seen < (n+1)/2 {
			median = v
		}
		seen += c
	}
	lo = max(lo, 0)
	near := (hi - lo) / 8
	nearLo, nearHi := 0, 0
	for v := lo; v <= hi; v++ {
		if v <= lo+near {
			nearLo += hist[v]
		}
		if v >= hi-near {
			nearHi += hist[v]
		}
	}
	glyph := lo
	if nearHi > nearLo {
		glyph = hi
	}
	if contrast = absDiff(uint8(glyph), uint8(median)); contrast < (hi-lo)/4 {
		// Glyphs are most of the box (the median is theirs): split the range.
		return uint8((lo + hi + 1) / 2), (hi - lo) / 2
	}
	return uint8((median + glyph + 1) / 2), contrast
}

// IoU is the intersection over union of a and b (0 when they do not meet).
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := in.Dx() * in.Dy()
	return float64(ia) / float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()-ia)
}
