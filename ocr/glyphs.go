package ocr

import (
	"image"
	"slices"

	"github.com/streamwatch/streamwatch/internal/unionfind"
)

// glyphs picks the text pixels of img, a line binarised into light (true
// for pixels above the threshold), whose box is core; see PrepareLine and
// prepareLine.
func glyphs(img *image.Gray, light []bool, w, h int, core image.Rectangle) (ink []bool, lightText bool) {
	return pickGlyphs(img, light, w, h, core, pick{})
}

// pick is a hypothesis about which pixels of a binarised line are text.
type pick struct {
	// polarity forces the text's class: 1 light, -1 dark; 0 lets the
	// components decide.
	polarity int
	// oneColour drops components whose extreme pixel lies beyond the
	// text's colour, or well short of it: anti-aliasing only ever pulls a
	// glyph's pixels towards the background, and only at its edges, so a
	// component lighter than light text (or darker than dark text), or one
	// that never reaches the text's colour, is something else (texture, a
	// bar, a sticker).
	oneColour bool
}

// comp is a 4-connected component of pixels of one class in a binarised line.
type comp struct {
	x0, y0, x1, y1 int
	area           int
	light          bool
	side           bool  // touches the left or right border
	edge           int   // pixels on the top or bottom border
	border         bool  // is background: see place
	outside        bool  // not on the line: see place
	beside         bool  // on the line's rows but not in its columns
	peak           uint8 // lightest pixel of a light component, darkest of a dark one
	drop           bool
}

// pickGlyphs is glyphs under hypothesis p.
func pickGlyphs(img *image.Gray, light []bool, w, h int, core image.Rectangle, p pick) (ink []bool, lightText bool) {
	label, comps := components(img, light, w, h)
	for i := range comps {
		comps[i].place(core, h)
	}
	score := classScores(comps)
	ink = make([]bool, w*h)
	if score[0] == 0 && score[1] == 0 {
		// Nothing stands free of the border (a crop cut through its text):
		// the border's majority class is background.
		lightText = borderIsDark(comps)
		for i := range ink {
			ink[i] = light[i] == lightText
		}
		return ink, lightText
	}
	lightText = score[1] > score[0]
	if p.polarity != 0 {
		lightText = p.polarity > 0
	}
	text := textComps(comps, lightText)
	if len(text) > 0 {
		text = growBeside(comps, text, core, lightText)
	}
	dropOffColour(text, lightText, p.oneColour)
	for i, l := range label {
		ink[i] = !comps[l].drop
	}
	return ink, lightText
}

// components labels the 4-connected components of equal class in light:
// label[i] is the index in comps of pixel i's component, comps ordered by
// their first pixel (in rows, top to bottom). It joins runs of one class
// along a row, with union-find over the runs (a line's pixels come in runs
// of several: far fewer unions than one per pixel).
func components(img *image.Gray, light []bool, w, h int) (label []int32, comps []comp) {
	runs := pixelRuns(light, w, h)
	var sets unionfind.Sets
	sets.Reset(len(runs))
	// prev is the first run of the row above, cur of this one.
	prev, cur := 0, 0
	for y := 1; y < h; y++ {
		for cur < len(runs) && runs[cur].y < y {
			cur++
		}
		j := prev
		for i := cur; i < len(runs) && runs[i].y == y; i++ {
			r := runs[i]
			// Runs of the row above that overlap r's columns (they tile the
			// row above, so j only moves on).
			for j < cur && runs[j].x1 < r.x0 {
				j++
			}
			for k := j; k < cur && runs[k].x0 <= r.x1; k++ {
				if light[runs[k].y*w+runs[k].x0] == light[y*w+r.x0] {
					sets.Union(k, i)
				}
			}
		}
		prev = cur
	}
	// A set's root is its first run, whose first pixel is the set's first:
	// labels are given in the order of the pixel-wise labelling.
	roots := sets.Roots()
	label = make([]int32, w*h)
	for i, r := range runs {
		var c *comp
		if int(roots[i]) == i {
			roots[i] = int32(len(comps))
			v := img.Pix[img.PixOffset(img.Rect.Min.X+r.x0, img.Rect.Min.Y+r.y)]
			comps = append(comps, comp{x0: r.x0, y0: r.y, x1: r.x1, y1: r.y, light: light[r.y*w+r.x0], peak: v})
			c = &comps[len(comps)-1]
		} else {
			roots[i] = roots[roots[i]]
			c = &comps[roots[i]]
		}
		l := roots[i]
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+r.y):]
		for x := r.x0; x <= r.x1; x++ {
			label[r.y*w+x] = l
			if c.light {
				c.peak = max(c.peak, row[x])
			} else {
				c.peak = min(c.peak, row[x])
			}
		}
		c.x0, c.x1 = min(c.x0, r.x0), max(c.x1, r.x1)
		c.y0, c.y1 = min(c.y0, r.y), max(c.y1, r.y)
		n := r.x1 - r.x0 + 1
		c.area += n
		if r.x0 == 0 || r.x1 == w-1 {
			c.side = true
		}
		if r.y == 0 || r.y == h-1 {
			c.edge += n
		}
	}
	return label, comps
}

// run is a row's span of pixels of one class, x0 to x1 inclusive.
type run struct{ x0, x1, y int }

// pixelRuns splits each row of light into runs of one class, row by row.
func pixelRuns(light []bool, w, h int) []run {
	var runs []run
	for y := range h {
		row := light[y*w : (y+1)*w]
		x0 := 0
		for x := 1; x <= w; x++ {
			if x == w || row[x] != row[x0] {
				runs = append(runs, run{x0: x0, x1: x - 1, y: y})
				x0 = x
			}
		}
	}
	return runs
}

// place decides where c lies relative to the line in core, in a crop h
// pixels tall: in the background, off the line, or beside it.
func (c *comp) place(core image.Rectangle, h int) {
	// A glyph may reach the top or bottom of a tight crop with a stroke
	// or two (a descender cut short); a background region reaches the
	// sides, or runs along the top or bottom, or is taller or wider than
	// a glyph.
	hc := core.Dy()
	c.border = c.side || c.edge > 0 && (3*c.edge > hc || 4*(c.y1-c.y0+1) >= 3*h || c.x1-c.x0+1 >= 2*hc)
	// Beyond the line: what lies mostly above or below core's rows
	// (a neighbouring line, texture), or beside its columns.
	ov := min(c.y1+1, core.Max.Y) - max(c.y0, core.Min.Y)
	c.outside = 2*ov < c.y1-c.y0+1 || c.x1 < core.Min.X || c.x0 >= core.Max.X
	c.beside = c.outside && 2*ov >= c.y1-c.y0+1
}

// classScores scores each class (0 dark, 1 light) by the boxes of its inner
// components: a glyph's box holds the box of its counter, so light glyphs
// outscore the dark holes in them, and the fill of outlined glyphs
// (everywhere on the line) outscores the outline (an inner component only
// where the background is lighter than it).
func classScores(comps []comp) [2]int {
	var score [2]int
	for _, c := range comps {
		if c.border || c.outside || c.area < 3 {
			continue
		}
		k := 0
		if c.light {
			k = 1
		}
		score[k] += (c.x1 - c.x0 + 1) * (c.y1 - c.y0 + 1)
	}
	return score
}

// borderIsDark reports whether the border components are mostly dark, by
// area: then the text, the other class, is light.
func borderIsDark(comps []comp) bool {
	n, lit := 0, 0
	for _, c := range comps {
		if c.border {
			n += c.area
			if c.light {
				lit += c.area
			}
		}
	}
	return 2*lit < n
}

// textComps marks every component of comps that is not text of the class
// lightText as dropped and returns the others.
func textComps(comps []comp, lightText bool) []*comp {
	var text []*comp
	for i := range comps {
		c := &comps[i]
		c.drop = c.light != lightText || c.border || c.outside || c.area < 3
		if !c.drop {
			text = append(text, c)
		}
	}
	return text
}

// growBeside adds to text the glyphs that a detector's box may leave out at
// either end (a lone stroke, as in "L", or glyphs over texture):
// glyph-sized components of the text's class beside the line join it, one
// after the other, while each lies within a word space of it. Each must be
// about as tall as a letter and no wider than a few, so that texture and
// bars beside a line stay out. text must not be empty.
func growBeside(comps []comp, text []*comp, core image.Rectangle, lightText bool) []*comp {
	hc := core.Dy()
	lo, hi := text[0].x0, text[0].x1
	for _, c := range text {
		lo, hi = min(lo, c.x0), max(hi, c.x1)
	}
	gap := hc * 9 / 10
	for grown := true; grown; {
		grown = false
		for i := range comps {
			c := &comps[i]
			ch, cw := c.y1-c.y0+1, c.x1-c.x0+1
			if !c.drop || !c.beside || c.border || c.light != lightText || 10*ch < 3*hc || 5*ch > 6*hc || 2*cw > 3*hc {
				continue
			}
			if (c.x1 < lo && lo-c.x1 <= gap) || (c.x0 > hi && c.x0-hi <= gap) {
				c.drop = false
				text = append(text, c)
				lo, hi = min(lo, c.x0), max(hi, c.x1)
				grown = true
			}
		}
	}
	return text
}

// dropOffColour drops the components of text whose shade is not the text's.
// Text is drawn in one colour: a component of another shade that lies
// within a glyph is background showing through a counter of an outlined
// glyph (the hole of an o, on a light background); with oneColour, any
// component of another shade goes (see pick).
func dropOffColour(text []*comp, lightText, oneColour bool) {
	slices.SortFunc(text, func(a, b *comp) int { return int(a.peak) - int(b.peak) })
	half, mid := 0, uint8(0)
	for _, c := range text {
		half += c.area
	}
	half /= 2
	for _, c := range text {
		mid = c.peak
		if half -= c.area; half < 0 {
			break
		}
	}
	for _, c := range text {
		d := int(c.peak) - int(mid)
		if !lightText {
			d = -d
		}
		if oneColour && (d > peakTolerance || d < -2*peakTolerance) {
			c.drop = true
			continue
		}
		if d >= -peakTolerance && d <= peakTolerance {
			continue
		}
		for _, o := range text {
			if o != c && o.x0 < c.x0 && o.y0 < c.y0 && o.x1 > c.x1 && o.y1 > c.y1 {
				c.drop = true
				break
			}
		}
	}
}
