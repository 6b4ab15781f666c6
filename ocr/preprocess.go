package ocr

import "image"

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
// taken to be a lines.Crop's Box: the line's glyphs with lines.Margin around
// them, about a sixth of the line's height above and below.
//
// Which class is text is decided from connected components: whatever touches
// the crop's border is background (a caption box, colour bars, a texture),
// and of the two classes the one whose remaining components cover more is the
// text. That reads light text on a dark box, dark text on light, and outlined
// text over a background that changes along the line, where no single
// polarity is right for the whole crop: the fill of the glyphs is enclosed by
// the outline wherever the background is.
func PrepareLine(src *image.Gray) *image.Gray {
	return prepareLine(src, src.Rect)
}

// prepareLine is PrepareLine for a line whose box is core, read from src, a
// larger crop around it: a detector's box may cut off the first or last glyph
// or the tops of capitals and ascenders, and whole glyphs are what tell text
// from background. Of the glyphs in src, those that stand on core's rows and
// reach into its columns are kept; the output is cut to them.
func prepareLine(src *image.Gray, core image.Rectangle) *image.Gray {
	return prepareLines(src, core)[0]
}

// prepareLines is prepareLine's first step and a second opinion: besides
// the crop binarised with one threshold (Otsu's, over the whole crop), it
// returns the crop binarised with a threshold that follows the local mean,
// when the two disagree on where the glyphs are. One threshold fails where
// the background changes along the line (colour bars, a gradient, a bar as
// light as the text): glyphs that cross into a part of the background of
// their own class merge with it and are dropped. A local threshold keeps
// them but frays flat backgrounds, so it is only a second reading, for the
// reader to weigh.
func prepareLines(src *image.Gray, core image.Rectangle) []*image.Gray {
	core = core.Intersect(src.Rect)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if w <= 0 || h <= 0 || core.Empty() {
		return []*image.Gray{blank(2*lineMargin, 2*lineMargin)}
	}
	img, core := scaled(src, core)
	w, h = img.Rect.Dx(), img.Rect.Dy()
	global, lightText := glyphs(img, binarise(img, otsu(img)), w, h, core)
	out := []*image.Gray{renderInk(global, w, h, core)}
	local, _ := glyphs(img, binariseLocal(img, lightText, textLuma(img, global, lightText), core.Dy()), w, h, core)
	if missed(global, local, w, h, core) > core.Dy()/2 {
		out = append(out, renderInk(local, w, h, core))
	}
	return out
}

// scaled returns src scaled so that the line in core (in src's
// coordinates) is about targetLine pixels tall, and core in the coordinates
// of the result, whose origin is (0, 0) unless src is returned as it is.
func scaled(src *image.Gray, core image.Rectangle) (*image.Gray, image.Rectangle) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	core = core.Intersect(src.Rect).Sub(src.Rect.Min)
	line := core.Dy() * 3 / 4
	if line >= minLine && line <= maxLine {
		return src, core
	}
	s := float64(targetLine) / float64(max(line, 1))
	s = min(s, maxUpscale)
	img := resize(src, max(1, int(float64(w)*s+0.5)), max(1, int(float64(h)*s+0.5)))
	sx, sy := float64(img.Rect.Dx())/float64(w), float64(img.Rect.Dy())/float64(h)
	return img, image.Rect(int(float64(core.Min.X)*sx), int(float64(core.Min.Y)*sy),
		int(float64(core.Max.X)*sx+0.5), int(float64(core.Max.Y)*sy+0.5))
}

// binarise returns, per pixel of img, whether it is lighter than t.
func binarise(img *image.Gray, t uint8) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	light := make([]bool, w*h)
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:w]
		for x, v := range row {
			light[y*w+x] = v > t
		}
	}
	return light
}

// renderInk draws ink black on white, cut to the columns and rows that hold ink
// or core, framed by lineMargin.
func renderInk(ink []bool, w, h int, core image.Rectangle) *image.Gray {
	box := core
	for y := range h {
		for x := range w {
			if ink[y*w+x] {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	box = box.Intersect(image.Rect(0, 0, w, h))
	out := blank(box.Dx()+2*lineMargin, box.Dy()+2*lineMargin)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		o := out.Pix[out.PixOffset(lineMargin, lineMargin+y-box.Min.Y):][:box.Dx()]
		for x := range o {
			if ink[y*w+box.Min.X+x] {
				o[x] = 0
			}
		}
	}
	return out
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
// aligned), which is enough for text that is afterwards binarised. Shrinking
// by two or more (the big captions of 4K and 8K frames), src is first
// averaged over blocks of the whole factor: bilinear interpolation alone
// would look at four of every k×k source pixels and fray the glyphs' edges.
func resize(src *image.Gray, w, h int) *image.Gray {
	if k := min(src.Rect.Dx()/max(w, 1), src.Rect.Dy()/max(h, 1)); k >= 2 {
		src = shrink(src, k)
	}
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

// shrink returns src reduced k times along both axes, each pixel the mean of
// a k×k block (of what is left of one at the right and bottom edges).
func shrink(src *image.Gray, k int) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w, h := (sw+k-1)/k, (sh+k-1)/k
	dst := image.NewGray(image.Rect(0, 0, w, h))
	sums := make([]int, w)
	for y := range h {
		clear(sums)
		y0, y1 := y*k, min(y*k+k, sh)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+sy):][:sw]
			for x, v := range row {
				sums[x/k] += int(v)
			}
		}
		o := dst.Pix[y*dst.Stride:][:w]
		for x := range o {
			n := (min(x*k+k, sw) - x*k) * (y1 - y0)
			o[x] = uint8((sums[x] + n/2) / n)
		}
	}
	return dst
}

// localFlat is the standard deviation in luma below which a window counts as
// flat background, where the local mean means nothing.
const localFlat = 10

// textLuma returns the luma of the text: the 90th (light text) or 10th
// (dark text) percentile of the ink pixels, or
// with no ink, the extreme of img on the text's side.
func textLuma(img *image.Gray, ink []bool, lightText bool) int {
	var hist, all [256]int
	n := 0
	w := img.Rect.Dx()
	for i, in := range ink {
		v := img.Pix[img.PixOffset(img.Rect.Min.X+i%w, img.Rect.Min.Y+i/w)]
		all[v]++
		if in {
			hist[v]++
			n++
		}
	}
	if n == 0 {
		hist, n = all, len(ink)
		if lightText {
			return percentile(&hist, n, 98)
		}
		return percentile(&hist, n, 2)
	}
	// Not the median: anti-aliased edges and whatever the global threshold
	// wrongly took for ink (a bar nearly as light as the text) pull it
	// towards the background, and a local threshold halfway between that and
	// a background as light as the text falls below both.
	if lightText {
		return percentile(&hist, n, 90)
	}
	return percentile(&hist, n, 10)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func percentile(hist *[256]int, n, p int) int {
	k := n * p / 100
	for v, c := range hist {
		if k -= c; k < 0 {
			return v
		}
	}
	return 255
}

// binariseLocal returns, per pixel of img, whether it is lighter than the
// midpoint between text, of luma text, and the mean of the win×win window
// around the pixel: the background that the window averages with its
// glyphs. Where that window is flat the pixel is background: dark if the
// text is light (lightText), light otherwise, so that a flat stretch of
// background never rings a patch of itself that the midpoint put in the
// text's class.
func binariseLocal(img *image.Gray, lightText bool, text, win int) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	// Integral images of luma and its square, with a zero row and column.
	sum := make([]int64, (w+1)*(h+1))
	sq := make([]int64, (w+1)*(h+1))
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:w]
		var rs, rq int64
		for x, v := range row {
			rs += int64(v)
			rq += int64(v) * int64(v)
			i := (y+1)*(w+1) + x + 1
			sum[i] = sum[i-w-1] + rs
			sq[i] = sq[i-w-1] + rq
		}
	}
	// Two windows, one ending and one starting at the pixel, each as tall
	// as the line: backgrounds of captions change mostly from column to
	// column (bars, a box's edge), and one window that straddles such a
	// change sets the background beside it against the mean of both sides,
	// which puts a strip of a background nearly as light as the text in the
	// text's class, joining the glyphs next to it. A pixel is text only when
	// both windows say so.
	r := max(win/2, 2)
	text64 := int64(text)
	isText := func(v uint8, y0, y1, x0, x1 int) bool {
		n := int64((y1 - y0) * (x1 - x0))
		a, b, c, d := y0*(w+1)+x0, y0*(w+1)+x1, y1*(w+1)+x0, y1*(w+1)+x1
		s := sum[d] - sum[b] - sum[c] + sum[a]
		q := sq[d] - sq[b] - sq[c] + sq[a]
		// Flat: a spread below localFlat, or below a quarter of the
		// window's contrast with the text, so that faint text (white on
		// yellow, 30 luma apart) is not taken for flat background.
		flat := min(localFlat*n, abs64(text64*n-s)/4)
		if n*q-s*s < flat*flat {
			return false
		}
		return (2*int64(v)*n > s+text64*n) == lightText
	}
	light := make([]bool, w*h)
	for y := range h {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:w]
		for x, v := range row {
			t := isText(v, y0, y1, max(0, x-r), x+1) && isText(v, y0, y1, x, min(w, x+r+1))
			light[y*w+x] = t == lightText
		}
	}
	return light
}

// missed returns how many columns of core hold ink in other but none in ink
// (nor within a few pixels of one that does): glyphs one binarisation lost.
func missed(ink, other []bool, w, h int, core image.Rectangle) int {
	has := func(m []bool, x int) bool {
		for y := max(core.Min.Y, 0); y < min(core.Max.Y, h); y++ {
			if m[y*w+x] {
				return true
			}
		}
		return false
	}
	x0, x1 := max(core.Min.X, 0), min(core.Max.X, w)
	near := max(2, core.Dy()/8)
	col := make([]bool, w)
	for x := x0; x < x1; x++ {
		if has(ink, x) {
			for k := max(0, x-near); k < min(w, x+near+1); k++ {
				col[k] = true
			}
		}
	}
	n := 0
	for x := x0; x < x1; x++ {
		if !col[x] && has(other, x) {
			n++
		}
	}
	return n
}

// alternates returns further renderings of the line in core, each under
// another hypothesis about which pixels are text, for lines whose first
// reading is doubtful.
func alternates(src *image.Gray, core image.Rectangle) []*image.Gray {
	img, core := scaled(src, core)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	t := otsu(img)
	light := binarise(img, t)
	_, lightText := glyphs(img, light, w, h, core)
	var out []*image.Gray
	for _, p := range []pick{
		{polarity: -polarityOf(lightText), oneColour: true},
		{polarity: polarityOf(lightText), oneColour: true},
	} {
		ink, _ := pickGlyphs(img, light, w, h, core, p)
		out = append(out, renderInk(ink, w, h, core))
	}
	// The threshold of the line's own box: around a caption box the crop
	// holds the frame too, and with three levels (frame, box, text) Otsu
	// may split the frame from box and text together, which for text of
	// low contrast with its box (grey on dark grey) loses the text.
	if sub, ok := img.SubImage(core.Add(img.Rect.Min)).(*image.Gray); ok {
		if tc := otsu(sub); absDiff(tc, t) >= coreThresholdGap {
			ink, _ := glyphs(img, binarise(img, tc), w, h, core)
			out = append(out, renderInk(ink, w, h, core))
		}
	}
	return out
}

// coreThresholdGap is how far the Otsu threshold of a line's box must be
// from that of the crop around it for alternates to try it too.
const coreThresholdGap = 24

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

func polarityOf(lightText bool) int {
	if lightText {
		return 1
	}
	return -1
}
