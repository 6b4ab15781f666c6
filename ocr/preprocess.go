package ocr

import (
	"image"
	"slices"
)

// Line crops are brought to a height Tesseract's line recogniser reads well
// (its models were trained on lines of roughly this size); within the band
// they are left alone, since every resampling blurs a little.
const (
	targetLine = 48 // text height (ascender to descender) aimed at, in pixels
	minLine    = 36 // smaller text is scaled up
	maxLine    = 72 // bigger text is scaled down
	maxUpscale = 4
	// lineMargin is the white border around a prepared line: Tesseract
	// misreads glyphs that touch the edge of the picture.
	lineMargin = 10
	// peakTolerance is how far, in luma, a glyph's lightest (or darkest)
	// pixel may stray from the line's text colour.
	peakTolerance = 24
)

// PrepareLine returns a copy of src, a crop holding one line of text, made
// ready for Tesseract's single-line mode: scaled so that the text is about 48
// pixels tall, binarised with Otsu's threshold, reduced to the glyphs and
// turned dark on a white background framed by a white margin. The crop is
// taken to be padded the way frames.Detect pads a line, by about a sixth of
// the line's height above and below.
//
// Which class is text is decided from connected components: whatever touches
// the crop's border is background (a caption box, colour bars, a texture),
// and of the two classes the one whose remaining components cover more is the
// text. That reads light text on a dark box, dark text on light, and outlined
// text over a background that changes along the line, where no single
// polarity is right for the whole crop: the fill of the glyphs is enclosed by
// the outline wherever the background is.
func PrepareLine(src *image.Gray) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if w <= 0 || h <= 0 {
		return blank(2*lineMargin, 2*lineMargin)
	}
	img := src
	line := h * 3 / 4
	if line < minLine || line > maxLine {
		s := float64(targetLine) / float64(max(line, 1))
		s = min(s, maxUpscale)
		img = resize(src, max(1, int(float64(w)*s+0.5)), max(1, int(float64(h)*s+0.5)))
		w, h = img.Rect.Dx(), img.Rect.Dy()
	}
	t := otsu(img)
	light := make([]bool, w*h)
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:w]
		for x, v := range row {
			light[y*w+x] = v > t
		}
	}
	ink := glyphs(img, light, w, h)
	out := blank(w+2*lineMargin, h+2*lineMargin)
	for y := range h {
		o := out.Pix[out.PixOffset(lineMargin, lineMargin+y):][:w]
		for x := range o {
			if ink[y*w+x] {
				o[x] = 0
			}
		}
	}
	return out
}

// glyphs picks the text pixels of img, a line binarised into light (true
// for pixels above the threshold); see PrepareLine.
func glyphs(img *image.Gray, light []bool, w, h int) []bool {
	// Label 4-connected components of equal class with union-find.
	parent := make([]int32, w*h)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		if ra < rb {
			parent[rb] = ra
		} else if rb < ra {
			parent[ra] = rb
		}
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			if x > 0 && light[i-1] == light[i] {
				union(int32(i-1), int32(i))
			}
			if y > 0 && light[i-w] == light[i] {
				union(int32(i-w), int32(i))
			}
		}
	}
	type comp struct {
		x0, y0, x1, y1 int
		area           int
		light          bool
		side           bool  // touches the left or right border
		edge           int   // pixels on the top or bottom border
		border         bool  // is background: see below
		peak           uint8 // lightest pixel of a light component, darkest of a dark one
		drop           bool
	}
	for i := range parent {
		parent[i] = find(int32(i))
	}
	// label[i] is the component of pixel i. It takes over parent's memory:
	// a root is the smallest index of its set, so its entry turns into a
	// label before any member's is read, and parent[i] is read before it
	// is overwritten.
	var comps []comp
	label := parent
	for i, r := range parent {
		if int(r) == i {
			label[i] = int32(len(comps))
			x, y := i%w, i/w
			v := img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)]
			comps = append(comps, comp{x0: x, y0: y, x1: x, y1: y, light: light[i], peak: v})
		} else {
			label[i] = label[r]
		}
	}
	for i, l := range label {
		c := &comps[l]
		x, y := i%w, i/w
		v := img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)]
		if c.light {
			c.peak = max(c.peak, v)
		} else {
			c.peak = min(c.peak, v)
		}
		c.x0, c.x1 = min(c.x0, x), max(c.x1, x)
		c.y0, c.y1 = min(c.y0, y), max(c.y1, y)
		c.area++
		if x == 0 || x == w-1 {
			c.side = true
		}
		if y == 0 || y == h-1 {
			c.edge++
		}
	}
	for i := range comps {
		c := &comps[i]
		// A glyph may reach the top or bottom of a tight crop with a stroke
		// or two (a descender cut short); a background region reaches the
		// sides, or runs along the top or bottom, or is taller or wider than
		// a glyph.
		c.border = c.side || c.edge > 0 && (3*c.edge > h || 4*(c.y1-c.y0+1) >= 3*h || c.x1-c.x0+1 >= 2*h)
	}
	// Score each class by the boxes of its inner components: a glyph's box
	// holds the box of its counter, so light glyphs outscore the dark holes
	// in them, and the fill of outlined glyphs (everywhere on the line)
	// outscores the outline (an inner component only where the background
	// is lighter than it).
	var score [2]int
	for _, c := range comps {
		if c.border || c.area < 3 {
			continue
		}
		k := 0
		if c.light {
			k = 1
		}
		score[k] += (c.x1 - c.x0 + 1) * (c.y1 - c.y0 + 1)
	}
	ink := make([]bool, w*h)
	if score[0] == 0 && score[1] == 0 {
		// Nothing stands free of the border (a crop cut through its text):
		// the border's majority class is background.
		n, lit := 0, 0
		for _, c := range comps {
			if c.border {
				n += c.area
				if c.light {
					lit += c.area
				}
			}
		}
		lightText := 2*lit < n
		for i := range ink {
			ink[i] = light[i] == lightText
		}
		return ink
	}
	lightText := score[1] > score[0]
	var text []*comp
	for i := range comps {
		c := &comps[i]
		c.drop = c.light != lightText || c.border || c.area < 3
		if !c.drop {
			text = append(text, c)
		}
	}
	// Text is drawn in one colour. A component of another shade that lies
	// within a glyph is background showing through a counter of an
	// outlined glyph (the hole of an o, on a light background).
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
		if d := int(c.peak) - int(mid); d >= -peakTolerance && d <= peakTolerance {
			continue
		}
		for _, o := range text {
			if o != c && o.x0 < c.x0 && o.y0 < c.y0 && o.x1 > c.x1 && o.y1 > c.y1 {
				c.drop = true
				break
			}
		}
	}
	for i, l := range label {
		ink[i] = !comps[l].drop
	}
	return ink
}

func blank(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	return g
}

// otsu returns the threshold that best splits img's pixels into two classes
// (Otsu 1979): pixels above it form one class, the rest the other.
func otsu(img *image.Gray) uint8 {
	var hist [256]int
	b := img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, v := range img.Pix[img.PixOffset(b.Min.X, y):][:b.Dx()] {
			hist[v]++
		}
	}
	total := b.Dx() * b.Dy()
	var sum float64
	for i, c := range hist {
		sum += float64(i * c)
	}
	var sumB, best float64
	wB, t := 0, 0
	for i, c := range hist {
		wB += c
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i * c)
		mB := sumB / float64(wB)
		mF := (sum - sumB) / float64(wF)
		between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF)
		if between > best {
			best, t = between, i
		}
	}
	return uint8(t)
}

// resize scales src to w×h with bilinear interpolation (pixel centres
// aligned), which is enough for text that is afterwards binarised.
func resize(src *image.Gray, w, h int) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	const one = 1 << 16
	// Source coordinate of destination pixel i, in 16.16 fixed point.
	coord := func(i, sn, dn int) int {
		c := ((2*i+1)*sn*one/dn - one) / 2
		return min(max(c, 0), (sn-1)*one)
	}
	xs := make([]int, w)
	for x := range xs {
		xs[x] = coord(x, sw, w)
	}
	for y := range h {
		sy := coord(y, sh, h)
		y0, fy := sy>>16, sy&(one-1)
		y1 := min(y0+1, sh-1)
		r0 := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y0):][:sw]
		r1 := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y1):][:sw]
		o := dst.Pix[y*dst.Stride:][:w]
		for x, sx := range xs {
			x0, fx := sx>>16, sx&(one-1)
			x1 := min(x0+1, sw-1)
			top := int(r0[x0])*(one-fx) + int(r0[x1])*fx
			bot := int(r1[x0])*(one-fx) + int(r1[x1])*fx
			// top and bot are 8.16; blend and round back to 8 bits.
			v := (top>>8)*(one-fy) + (bot>>8)*fy
			o[x] = uint8((v + 1<<23) >> 24)
		}
	}
	return dst
}
