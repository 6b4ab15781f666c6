package ppocr

import (
	"context"
	"image"
	"math"
	"sync"

	"github.com/streamwatch/streamwatch/lines"
)

// Auto's settings.
const (
	// autoRetry is the Tesseract confidence below which auto reads a line
	// again with PP-OCR and keeps the more confident reading.
	autoRetry = 70
	// autoDetectLongSide is the long side auto's detector works at: it
	// looks for what the classical detector misses (tilted, vertical and
	// very large lines), which needs less resolution than small text.
	autoDetectLongSide = 640
	// autoCadence is the fewest sampled frames between two detections of a
	// stream.
	autoCadence = 4
	// A classical line read by Tesseract with less than autoDoubt, by
	// PP-OCR (re-reading it in its upright box) with less than
	// autoDoubtPP, or by neither, asks for PP-OCR's detector around it:
	// PP-OCR reads a well-cropped line with character probabilities of
	// 0.95 and more, and a tilted line in an upright box with less.
	autoDoubt   = 60
	autoDoubtPP = 90
	// autoTilt is the slope (of a box's top edge) from which a box is a
	// tilted line, read along its box; the classical detector's boxes
	// over it are fragments and are dropped.
	autoTilt = 0.09 // about 5°
	// thumbCell is the side, in frame pixels, of one cell of the picture
	// summary a stream's detections are compared by; thumbDiff the change
	// of a cell's mean luma that counts.
	thumbCell = 16
	thumbDiff = 12
)

// Auto reads each line with the engine that wins there: Tesseract (Classic)
// reads the classical detector's lines, PP-OCR re-reads those Tesseract
// reads with low confidence and reads the lines its own detector finds
// where the classical one finds none (tilted and vertical lines, lines too
// large for it). PP-OCR's detector runs at reduced scale, only around
// classical lines neither engine read with confidence and columns of single
// characters, at most every autoCadence sampled frames; its boxes stay
// while the picture under them does, and their readings are reused while
// their pixels stay, as every line's are.
type Auto struct {
	Classic lines.Engine // Tesseract
	PP      *Engine
}

var _ lines.Engine = (*Auto)(nil)

// Name returns "auto"; each line names the engine that read it.
func (a *Auto) Name() string { return "auto" }

// Size is the classical engine's: a read uses one of its clients and, for
// some lines, one PP-OCR session after it.
func (a *Auto) Size() int { return a.Classic.Size() }

// ReadLines reads lines with a Quad through PP-OCR, the others through the
// classical engine, and those it read with low confidence again through
// PP-OCR.
func (a *Auto) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	var classic, pp []lines.Crop
	for _, c := range crops {
		if c.Quad != (lines.Quad{}) {
			pp = append(pp, c)
		} else {
			classic = append(classic, c)
		}
	}
	byBox := map[image.Rectangle]lines.Reading{}
	if len(classic) > 0 {
		got, err := a.Classic.ReadLines(ctx, img, classic)
		if err != nil {
			return nil, err //nolint:wrapcheck // the engine's error, as a lone engine hands it on
		}
		for _, g := range got {
			g.Engine = a.Classic.Name()
			byBox[g.Box] = g
			if g.Confidence < autoRetry {
				pp = append(pp, lines.Crop{Box: g.Box, Text: g.Box})
			}
		}
	}
	if len(pp) > 0 {
		got, err := a.PP.ReadLines(ctx, img, pp)
		if err != nil {
			return nil, err
		}
		for _, g := range got {
			if old, ok := byBox[g.Box]; !ok || g.Confidence > old.Confidence {
				g.Engine = a.PP.Name()
				byBox[g.Box] = g
			}
		}
	}
	out := make([]lines.Reading, 0, len(byBox))
	for _, c := range crops {
		if g, ok := byBox[c.Box]; ok {
			out = append(out, g)
			delete(byBox, c.Box)
		}
	}
	return out, nil
}

// Stream returns the Proposer of one stream: PP-OCR's boxes added to the
// classical detector's lines where it finds none.
func (a *Auto) Stream() lines.Proposer { return &autoStream{pp: a.PP} }

// autoStream decides where a stream's PP-OCR detections run: around the
// classical lines that neither engine read with confidence (a tilted line
// cut into fragments, texture) and around columns of single characters (a
// vertical line), at most every autoCadence sampled frames; it keeps the
// boxes found while the picture under them stays.
type autoStream struct {
	pp     *Engine
	boxes  []Box
	thumb  []int32 // mean luma per cell of the last frame
	tw, th int
	since  int // sampled frames since the last detection

	mu       sync.Mutex
	doubtful []image.Rectangle // of lines read since the last detection, guarded by mu

	// detections counts the detector's runs, for tests.
	detections int
}

// Observe notes the classical lines read without confidence.
func (s *autoStream) Observe(crops []lines.Crop, read []lines.Reading) {
	sure := map[image.Rectangle]bool{}
	for _, r := range read {
		least := float64(autoDoubt)
		if r.Engine == s.pp.Name() {
			least = autoDoubtPP
		}
		sure[r.Box] = sure[r.Box] || r.Confidence >= least
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range crops {
		if c.Quad == (lines.Quad{}) && !sure[c.Box] {
			s.doubtful = append(s.doubtful, c.Box)
		}
	}
}

// Propose merges the stream's PP-OCR boxes into found: a tilted or vertical
// box replaces the classical boxes whose centre it holds; a level box is
// added where no classical box overlaps it.
func (s *autoStream) Propose(ctx context.Context, img *image.Gray, found []lines.Crop) ([]lines.Crop, error) {
	if err := s.update(ctx, img, found); err != nil {
		return nil, err
	}
	out := found
	for _, b := range s.boxes {
		c := b.Crop(img.Rect)
		if c.Box.Empty() {
			continue
		}
		if b.tilted() {
			out = dropInside(out, b)
			out = append(out, c)
			continue
		}
		if !overlapsAny(found, c.Box) {
			out = append(out, c)
		}
	}
	return out, nil
}

// update forgets the boxes over which the picture changed and, if there
// are doubtful lines or columns and the cadence allows, detects around them.
func (s *autoStream) update(ctx context.Context, img *image.Gray, found []lines.Crop) error {
	thumb, tw, th := summary(img)
	s.since++
	if s.thumb == nil || tw != s.tw || th != s.th {
		s.boxes = nil
	} else if changed, ok := changedRegion(s.thumb, thumb, tw, th); ok {
		kept := s.boxes[:0]
		for _, b := range s.boxes {
			if !b.bounds().Overlaps(changed) {
				kept = append(kept, b)
			}
		}
		s.boxes = kept
	}
	s.thumb, s.tw, s.th = thumb, tw, th
	if s.detections > 0 && s.since < autoCadence {
		return nil
	}
	s.mu.Lock()
	regions := append(s.doubtful, columns(found)...)
	s.doubtful = nil
	s.mu.Unlock()
	region := image.Rectangle{}
	for _, r := range regions {
		g := max(r.Dy(), 16)
		region = region.Union(r.Inset(-g))
	}
	region = region.Intersect(img.Rect)
	if region.Empty() {
		return nil
	}
	long := max(1, int(math.Ceil(float64(max(region.Dx(), region.Dy()))*float64(autoDetectLongSide)/float64(max(img.Rect.Dx(), img.Rect.Dy())))))
	s.detections++
	boxes, err := s.pp.Detect(ctx, img, region, long)
	if err != nil {
		return err
	}
	for _, b := range s.boxes {
		if !b.bounds().Overlaps(region) {
			boxes = append(boxes, b)
		}
	}
	s.boxes, s.since = boxes, 0
	return nil
}

// columns returns the rectangles around runs of three or more classical
// lines no wider than tall, stacked one under the other: the characters of
// a vertical line, which the classical detector finds one at a time.
func columns(found []lines.Crop) []image.Rectangle {
	var out []image.Rectangle
	used := make([]bool, len(found))
	for i, c := range found {
		if used[i] || !squarish(c.Text) {
			continue
		}
		col, n := c.Text, 1
		for grew := true; grew; {
			grew = false
			for j, d := range found {
				if used[j] || j == i || !squarish(d.Text) {
					continue
				}
				h := col.Dx()
				cx, dx := (col.Min.X+col.Max.X)/2, (d.Text.Min.X+d.Text.Max.X)/2
				if abs(cx-dx) <= h/2 && d.Text.Min.Y < col.Max.Y+h && d.Text.Max.Y > col.Min.Y-h {
					col, n, used[j], grew = col.Union(d.Text), n+1, true, true
				}
			}
		}
		if n >= 3 {
			out = append(out, col)
		}
	}
	return out
}

func squarish(r image.Rectangle) bool { return r.Dx() <= 3*r.Dy()/2 && r.Dy() <= 2*r.Dx() }

func abs(v int) int { return max(v, -v) }

// summary returns the mean luma of each thumbCell square of img.
func summary(img *image.Gray) ([]int32, int, int) {
	r := img.Rect
	tw, th := (r.Dx()+thumbCell-1)/thumbCell, (r.Dy()+thumbCell-1)/thumbCell
	sum := make([]int32, tw*th)
	n := make([]int32, tw*th)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		base := (y - r.Min.Y) / thumbCell * tw
		for x := range r.Dx() {
			sum[base+x/thumbCell] += int32(row[x])
			n[base+x/thumbCell]++
		}
	}
	for i := range sum {
		sum[i] /= max(n[i], 1)
	}
	return sum, tw, th
}

// changedRegion returns the frame rectangle around the cells whose mean
// changed by more than thumbDiff, one cell more on each side; false when
// none did.
func changedRegion(a, b []int32, tw, th int) (image.Rectangle, bool) {
	x0, y0, x1, y1 := tw, th, -1, -1
	for i := range a {
		if d := a[i] - b[i]; d > thumbDiff || d < -thumbDiff {
			x, y := i%tw, i/tw
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
		}
	}
	if x1 < 0 {
		return image.Rectangle{}, false
	}
	return image.Rect((x0-1)*thumbCell, (y0-1)*thumbCell, (x1+2)*thumbCell, (y1+2)*thumbCell), true
}

// bounds is the rectangle around the box.
func (b Box) bounds() image.Rectangle {
	return b.Crop(image.Rect(math.MinInt32/2, math.MinInt32/2, math.MaxInt32/2, math.MaxInt32/2)).Box
}

// tilted reports whether b is a vertical line or one whose top edge slopes
// by more than autoTilt.
func (b Box) tilted() bool {
	top := b.q[1].sub(b.q[0])
	side := b.q[3].dist(b.q[0])
	if side >= recVertical*math.Hypot(top.x, top.y) {
		return true
	}
	return top.x > 0 && math.Abs(top.y/top.x) > autoTilt
}

// dropInside returns crops without those whose centre lies inside b.
func dropInside(crops []lines.Crop, b Box) []lines.Crop {
	rc := minAreaRect(hull(append([]pt(nil), b.q[:]...)))
	out := crops[:0:0]
	for _, c := range crops {
		m := c.Box.Min.Add(c.Box.Max).Div(2)
		if !rc.contains(fromImage(m)) {
			out = append(out, c)
		}
	}
	return out
}

// overlapsAny reports whether a crop's Box covers more than half of r, or r
// more than half of it.
func overlapsAny(crops []lines.Crop, r image.Rectangle) bool {
	area := func(r image.Rectangle) int { return r.Dx() * r.Dy() }
	for _, c := range crops {
		in := area(c.Box.Intersect(r))
		if 2*in > min(area(c.Box), area(r)) {
			return true
		}
	}
	return false
}
