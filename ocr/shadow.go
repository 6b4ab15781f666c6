package ocr

import (
	"image"
	"slices"
)

// shadowRendering returns the line in core read as light text with a dark
// drop shadow (see shadowed), or nil when the line shows no such shadow.
func shadowRendering(src *image.Gray, core image.Rectangle) *image.Gray {
	img, core := scaled(src, core)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	ink, lightText := glyphs(img, binarise(img, otsu(img)), w, h, core)
	if !lightText {
		return nil
	}
	s := shadowed(img, ink, w, h, core)
	if s == nil {
		return nil
	}
	return renderInk(s, w, h, core)
}

// maxShadowShift is the longest drop-shadow offset looked for, in pixels
// of a line scaled to targetLine, along either axis.
const maxShadowShift = 8

// shadowOffset estimates the offset of a dark drop shadow under light text
// of n glyph pixels, textCol marking the pixels of the text's colour and
// dark those dark enough to be shadow: the shift d for which pixels of the text's colour
// most often have a dark pixel at p+d rather than at p-d. Over a dark
// background both sides are dark and over one of the text's colour neither
// is, so only the glyphs over backgrounds between the two (where both text
// and shadow show) vote. ok is false without a clear winner.
func shadowOffset(textCol, dark []bool, w, h int, core image.Rectangle, n int) (dx, dy int, ok bool) {
	// A pixel votes only when a dark pixel lies within the shifts looked
	// for around it: an integral image of dark finds the pixels that do.
	m := maxShadowShift
	cum := make([]int32, (w+1)*(h+1))
	for y := range h {
		var rs int32
		for x := range w {
			if dark[y*w+x] {
				rs++
			}
			cum[(y+1)*(w+1)+x+1] = cum[y*(w+1)+x+1] + rs
		}
	}
	var px []int
	for y := max(core.Min.Y, m); y < min(core.Max.Y, h-m); y++ {
		y0, y1 := y-m, y+m+1
		for x := m; x < w-m; x++ {
			i := y*w + x
			if !textCol[i] {
				continue
			}
			x0, x1 := x-m, x+m+1
			if cum[y1*(w+1)+x1]-cum[y0*(w+1)+x1]-cum[y1*(w+1)+x0]+cum[y0*(w+1)+x0] > 0 {
				px = append(px, i)
			}
		}
	}
	best := 0
	for sy := 0; sy <= maxShadowShift; sy++ {
		for sx := 0; sx <= maxShadowShift; sx++ {
			if sx == 0 && sy == 0 {
				continue
			}
			s, o := 0, sy*w+sx
			for _, i := range px {
				f, b := dark[i+o], dark[i-o]
				if f && !b {
					s++
				} else if b && !f {
					s--
				}
			}
			if s > best {
				best, dx, dy = s, sx, sy
			}
		}
	}
	// A shadow shows along the lower right edge of every glyph over a
	// background lighter than it: a few pixels per column of text. A
	// best shift at the end of the range is no offset but a broad
	// structure (bars, texture) whose votes grow with the shift.
	return dx, dy, best > 0 && 12*best >= n && dx < m && dy < m
}

// shadowed returns the glyphs of light text with a dark drop shadow,
// where some glyphs cross a background of the text's own colour and show
// only through their shadow: pixels of the text's colour whose pixel at
// the shadow's offset is dark are glyph (the shadow moved back onto the
// glyph that casts it), added to the glyphs that stand free of the
// background. It returns nil when the line shows no drop shadow.
func shadowed(img *image.Gray, ink []bool, w, h int, core image.Rectangle) []bool {
	tl := textLuma(img, ink, true)
	textCol := make([]bool, w*h)
	dark := make([]bool, w*h)
	n := 0
	for i := range textCol {
		v := int(img.Pix[img.PixOffset(img.Rect.Min.X+i%w, img.Rect.Min.Y+i/w)])
		textCol[i] = v >= tl-shadowTolerance
		dark[i] = 2*v < tl
		if ink[i] {
			n++
		}
	}
	dx, dy, ok := shadowOffset(textCol, dark, w, h, core, n)
	if !ok {
		return nil
	}
	free, _ := pickGlyphs(img, textCol, w, h, core, pick{polarity: 1})
	// Moved back by its offset, the shadow is the rim of the glyph that
	// casts it. A dark bar beside or below a light one makes a rim too,
	// along the bar's edge: a straight run that goes on to the crop's
	// border, which a glyph's rim never reaches.
	rim := make([]bool, w*h)
	for y := 0; y < h-dy; y++ {
		for x := 0; x < w-dx; x++ {
			i := y*w + x
			if textCol[i] && !free[i] && dark[i+dy*w+dx] {
				rim[i] = true
			}
		}
	}
	dropEdgeRuns(rim, w, h, dx, dy)
	with := slices.Clone(free)
	for i, r := range rim {
		if r {
			with[i] = true
		}
	}
	out, _ := pickGlyphs(img, with, w, h, core, pick{polarity: 1})
	return out
}

// shadowTolerance is how far below the text's luma a pixel may be and still
// count as of the text's colour when a shadow is followed.
const shadowTolerance = 40

// dropEdgeRuns clears the runs of rim, column by column and row by row,
// that reach the border of the crop (within the shadow's offset of it).
func dropEdgeRuns(rim []bool, w, h, dx, dy int) {
	var cut []int
	for x := range w {
		for y := 0; y < h; {
			if !rim[y*w+x] {
				y++
				continue
			}
			y0 := y
			for y < h && rim[y*w+x] {
				y++
			}
			if y0 <= dy || y >= h-dy-1 {
				for k := y0; k < y; k++ {
					cut = append(cut, k*w+x)
				}
			}
		}
	}
	for y := range h {
		row := rim[y*w : (y+1)*w]
		for x := 0; x < w; {
			if !row[x] {
				x++
				continue
			}
			x0 := x
			for x < w && row[x] {
				x++
			}
			if x0 <= dx || x >= w-dx-1 {
				for k := x0; k < x; k++ {
					cut = append(cut, y*w+k)
				}
			}
		}
	}
	for _, i := range cut {
		rim[i] = false
	}
}
