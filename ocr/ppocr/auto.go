package ppocr

import (
	"context"
	"image"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/streamwatch/streamwatch/lines"
)

// Auto's settings.
const (
	// autoRetry is the Tesseract confidence below which auto reads a line
	// again with PP-OCR and keeps the more confident reading.
	autoRetry = 70
	// autoCadence is the number of sampled frames over which the scan of
	// changed regions may cover one whole frame at autoScanLongSide.
	autoCadence = 4
	// autoScanLongSide is the long side (of the whole frame) the scan of
	// changed regions works at: it looks for the lines the classical
	// detector proposes nothing for or cuts apart (vertical columns,
	// tilted stickers and signs, very large or faint text), which are
	// large enough for it. Where the credit does not cover a region at
	// that scale, the scan looks at it coarser, down to autoScanLeast.
	autoScanLongSide = 480
	autoScanLeast    = 320
	// autoFirstCredit is the credit a stream starts with: its first frame
	// is scanned whole, coarser (most captions come later, and are
	// scanned where they appear).
	autoFirstCredit = 0.5
	// autoTilt is the slope (of a box's top edge) from which a box is a
	// tilted line, read along its box; the classical detector's boxes
	// over it are fragments and are dropped.
	autoTilt = 0.09 // about 5°
	// autoSame is the intersection over union from which a level box of
	// PP-OCR's detector is the classical detector's line and not added.
	autoSame = 0.5
	// autoSameCoarse is the intersection over union from which a coarse
	// box (see autoStream.refine) is the classical detector's line without
	// being refined first: a coarse box cuts or overshoots its line, so it
	// stands for one only where the two agree closely (a caption over a
	// moving picture, which every scan finds again, 0.7-0.9 here); below it
	// the refined box decides.
	autoSameCoarse = 0.7
	// thumbCell is the side, in frame pixels, of one cell of the picture
	// summary a stream's detections are compared by; thumbDiff the change
	// of a cell's mean luma that counts.
	thumbCell = 16
	thumbDiff = 12
	// autoLatinPerHeight is the fewest characters a Latin line holds per
	// glyph height of its width (a caption holds about 1.6-1.9, a wide
	// bold face 1.4) before Tesseract's reading of it is in doubt;
	// autoSure the least confidence of PP-OCR's longer reading of a line
	// so in doubt that replaces Tesseract's.
	autoLatinPerHeight = 1.1
	// autoCapsPerHeight is autoLatinPerHeight for a line of capitals (no
	// small letter): its glyph box is only cap height tall, where mixed
	// case reaches from descender to ascender, so it holds fewer
	// characters per height (a wide bold face's, "DIOR SADDLE BAG AAA",
	// 0.97).
	autoCapsPerHeight = 0.8
	autoSure          = 80
	// autoExplains is the least confidence of Tesseract's reading of a
	// classical line for a change inside it to be the line's own, not to
	// be scanned (a clean caption reads at 90 and more; "Dior Booh Tote
	// (HHA quality", in a script face, at 83).
	autoExplains = 90
	// autoPad is how much longer, in its short side, auto makes a box of
	// the detector at each end.
	autoPad = 0.25
	// autoCutEdge is how near, in pixels, a box may come to the edge of
	// the region the detector looked at before the edge counts as cutting
	// it.
	autoCutEdge = 3
	// autoBoxChanged is the share of a box's cells that must change for
	// the box to be forgotten.
	autoBoxChanged = 0.3
)

// Auto reads each line with the engine that wins there: Tesseract (Classic)
// reads the classical detector's lines, PP-OCR re-reads those Tesseract
// reads with low confidence and reads the lines its own detector finds
// where the classical one finds none or only fragments (tilted and vertical
// lines, lines too large or too faint for it). PP-OCR's detector scans the
// regions of a stream's frames that changed, at reduced scale, within a
// budget of a whole frame every autoCadence sampled frames; its boxes stay
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
// classical engine, and those it read with low confidence, or with too few
// characters for their width (faint glyphs left out), again through
// PP-OCR.
func (a *Auto) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	var classic, pp []lines.Crop
	cropOf := map[image.Rectangle]lines.Crop{} // by Box
	for _, c := range crops {
		cropOf[c.Box] = c
		if c.Quad != (lines.Quad{}) {
			pp = append(pp, c)
		} else {
			classic = append(classic, c)
		}
	}
	byBox := map[image.Rectangle]lines.Reading{}
	sparse := map[image.Rectangle]bool{}
	spans := map[image.Rectangle]image.Rectangle{} // the line a retried box is part of
	if len(classic) > 0 {
		got, err := a.Classic.ReadLines(ctx, img, classic)
		if err != nil {
			return nil, err //nolint:wrapcheck // the engine's error, as a lone engine hands it on
		}
		var retry []image.Rectangle
		for _, g := range got {
			g.Engine = a.Classic.Name()
			byBox[g.Box] = g
			sparse[g.Box] = tooFew(g.Text, cropOf[g.Box].Text)
			if g.Confidence < autoRetry || sparse[g.Box] {
				retry = append(retry, g.Box)
			}
		}
		for _, c := range classic {
			if _, ok := byBox[c.Box]; !ok && !c.Quick {
				retry = append(retry, c.Box) // read as nothing
			}
		}
		for _, b := range retry {
			line, err := lineAcross(ctx, a.PP, img, b)
			if err != nil {
				return nil, err
			}
			if line.Empty() && cropOf[b].Quick {
				// Where lines read as junk before and the detector sees no
				// line at full scale: two signs of no text, which the
				// recogniser would cost a 320-wide run for on every frame of
				// a busy picture (Tesseract's reading stays).
				continue
			}
			c := lines.Crop{Box: b, Text: b}
			if !line.Empty() {
				// The line holds the classical glyphs too: over a busy
				// picture the detector may find only the line's first
				// words, whose confident reading would put a part of
				// the line in place of the whole.
				t := cropOf[b].Text
				line.Min.X, line.Max.X = min(line.Min.X, t.Min.X), max(line.Max.X, t.Max.X)
				c.Quad, spans[b] = levelBox(line).Quad, line
			}
			pp = append(pp, c)
		}
	}
	if len(pp) > 0 {
		got, err := a.PP.ReadLines(ctx, img, pp)
		if err != nil {
			return nil, err
		}
		for _, g := range got {
			old, ok := byBox[g.Box]
			longer := sparse[g.Box] && g.Confidence >= autoSure && utf8.RuneCountInString(g.Text) > utf8.RuneCountInString(old.Text)
			if !ok || g.Confidence > old.Confidence || longer {
				g.Engine, g.Span = a.PP.Name(), spans[g.Box]
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

// lineAcross is lineAt over the strip of the frame across box's rows, and
// half its height above and below: the line a classical box, or a coarse
// scan's, is part of, as the detector finds it at full scale. The
// classical detector cuts a faint line, or one over a busy background,
// into fragments ("Gallera re" of "Prada Galleria replica", low contrast
// over noise), which neither engine reads whole. Empty when the detector
// finds no level line there (read the box as it is).
func lineAcross(ctx context.Context, pp *Engine, img *image.Gray, box image.Rectangle) (image.Rectangle, error) {
	h := box.Dy()
	return lineAt(ctx, pp, img, box, image.Rect(img.Rect.Min.X, box.Min.Y-h/2, img.Rect.Max.X, box.Max.Y+h/2))
}

// lineAt returns the level line through box that PP-OCR's detector finds
// at full scale in region: the rectangle around the level boxes that share
// box's columns and most of its rows; empty if none does.
func lineAt(ctx context.Context, pp *Engine, img *image.Gray, box, region image.Rectangle) (image.Rectangle, error) {
	region = region.Intersect(img.Rect)
	if region.Empty() {
		return image.Rectangle{}, nil
	}
	long := max(1, int(math.Ceil(float64(max(region.Dx(), region.Dy()))*defaultDetLen/float64(max(img.Rect.Dx(), img.Rect.Dy())))))
	boxes, err := pp.Detect(ctx, img, region, long)
	if err != nil {
		return image.Rectangle{}, err
	}
	var line image.Rectangle
	h := box.Dy()
	for _, b := range boxes {
		r := b.bounds()
		overlap := min(r.Max.Y, box.Max.Y) - max(r.Min.Y, box.Min.Y)
		if b.tilted() || r.Max.X <= box.Min.X || r.Min.X >= box.Max.X || 2*overlap < min(r.Dy(), h) {
			continue
		}
		line = line.Union(r)
	}
	return line.Intersect(img.Rect), nil
}

// levelBox is the level Box of r.
func levelBox(r image.Rectangle) Box {
	b := Box{Score: 1, q: quadOf(r)}
	for i, p := range b.q {
		b.Quad[i] = p.image()
	}
	return b
}

func abs(v int) int { return max(v, -v) }

// summary returns the mean luma of each thumbCell square of img, sampled
// at every other pixel of every other row.
func summary(img *image.Gray) ([]int32, int, int) {
	r := img.Rect
	tw, th := (r.Dx()+thumbCell-1)/thumbCell, (r.Dy()+thumbCell-1)/thumbCell
	sum := make([]int32, tw*th)
	n := make([]int32, tw*th)
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		base := (y - r.Min.Y) / thumbCell * tw
		for x := 0; x < r.Dx(); x += 2 {
			sum[base+x/thumbCell] += int32(row[x])
			n[base+x/thumbCell]++
		}
	}
	for i := range sum {
		sum[i] /= max(n[i], 1)
	}
	return sum, tw, th
}

// changedCells returns, per cell, whether its mean changed by more than
// thumbDiff; nil when none did.
func changedCells(a, b []int32) []bool {
	var out []bool
	for i := range a {
		if d := a[i] - b[i]; d > thumbDiff || d < -thumbDiff {
			if out == nil {
				out = make([]bool, len(a))
			}
			out[i] = true
		}
	}
	return out
}

// cellsRegion returns the frame rectangle around the changed cells, one
// cell more on each side.
func cellsRegion(changed []bool, tw, th int) image.Rectangle {
	x0, y0, x1, y1 := tw, th, -1, -1
	for i, c := range changed {
		if c {
			x, y := i%tw, i/tw
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
		}
	}
	if x1 < 0 {
		return image.Rectangle{}
	}
	return image.Rect((x0-1)*thumbCell, (y0-1)*thumbCell, (x1+2)*thumbCell, (y1+2)*thumbCell)
}

// changed reports whether more than autoBoxChanged of the cells whose
// centre lies inside b changed: a moving picture around a line, or behind
// a translucent box, changes some of them; a line that went or moved
// changes most.
func (b Box) changed(changed []bool, tw, th int) bool {
	rc := minAreaRect(hull(append([]pt(nil), b.q[:]...)))
	r := b.bounds()
	n, c := 0, 0
	for y := max(r.Min.Y/thumbCell, 0); y <= min(r.Max.Y/thumbCell, th-1); y++ {
		for x := max(r.Min.X/thumbCell, 0); x <= min(r.Max.X/thumbCell, tw-1); x++ {
			if !rc.contains(pt{float64(x*thumbCell + thumbCell/2), float64(y*thumbCell + thumbCell/2)}) {
				continue
			}
			n++
			if changed[y*tw+x] {
				c++
			}
		}
	}
	return float64(c) > autoBoxChanged*float64(max(n, 1))
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

// sameAsBox reports whether one of boxes is the line r, as sameAsAny.
func sameAsBox(boxes []Box, r image.Rectangle) bool {
	for _, b := range boxes {
		if sameLine(b.bounds(), r) {
			return true
		}
	}
	return false
}

// sameAsAny reports whether a crop's Box is the line r.
func sameAsAny(crops []lines.Crop, r image.Rectangle) bool {
	return overlapsAny(crops, r, autoSame)
}

// overlapsAny reports whether one of crops has an intersection over union
// of at least least with r.
func overlapsAny(crops []lines.Crop, r image.Rectangle, least float64) bool {
	for _, c := range crops {
		if lines.IoU(c.Box, r) >= least {
			return true
		}
	}
	return false
}

// sameLine reports whether a and b are one line: their intersection over
// union is at least autoSame.
func sameLine(a, b image.Rectangle) bool { return lines.IoU(a, b) >= autoSame }

// tooFew reports whether text, Latin only, has fewer characters than
// autoLatinPerHeight (autoCapsPerHeight for capitals) per glyph height of
// its line's width (glyphs, the
// detector's glyph box): Tesseract leaves faint glyphs out and reads what
// remains with confidence ("plica ers" for "Dior replica sneakers" in
// translucent white). Han text, a glyph per height, is not judged.
func tooFew(text string, glyphs image.Rectangle) bool {
	if glyphs.Dy() <= 0 {
		return false
	}
	n, small, capital := 0, false, false
	for _, r := range text {
		if r > unicode.MaxLatin1 {
			return false
		}
		n++
		small = small || unicode.IsLower(r)
		capital = capital || unicode.IsUpper(r)
	}
	per := autoLatinPerHeight
	if capital && !small {
		per = autoCapsPerHeight
	}
	return float64(n) < per*float64(glyphs.Dx())/float64(glyphs.Dy())
}
