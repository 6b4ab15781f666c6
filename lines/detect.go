package lines

import (
	"image"
	"slices"
	"sync"

	"github.com/streamwatch/streamwatch/internal/unionfind"
)

// DetectOptions tune the detector; zero values mean defaults.
type DetectOptions struct {
	// MinHeight and MaxHeight bound the height in pixels of a text line
	// (ascender to descender). Defaults: 10, and 160 up to 1080p, beyond it
	// in proportion to the frame's short side (320 at 2160p, 640 at 4320p).
	MinHeight, MaxHeight int
}

// The detector looks for rows in which contrast changes sign often within a
// short distance: a row through a line of glyphs crosses a stroke edge every
// few pixels, while the edges of colour bars, long vertical edges and thin
// diagonal lines come alone or in pairs. Chains of such dense transitions,
// joined across rows, give the core of a line (the x-height band, or the whole
// height of capitals and Han characters); the full-resolution image then
// extends it over ascenders and descenders. A pyramid of half-size copies lets
// one chain length serve lines from 10 pixels tall to the frame's MaxHeight.
const (
	// edgeThreshold is the smallest luma step, between the two neighbours of
	// a pixel, that counts as a stroke edge. Compression and sensor noise stay
	// well below it; anti-aliased 10 px text stays above it.
	edgeThreshold = 40
	// busyThreshold replaces edgeThreshold where the first pass found
	// texture (cellular automata, checkerboards, foliage): a caption on a
	// semi-transparent box over it keeps its full contrast while the box
	// damps the background's (black@0.6 leaves at most 0.4×219 ≈ 88).
	busyThreshold = 112
	// chainGap is the largest distance, in level pixels, between two
	// transitions of one chain: it bridges the counter of an O and a word
	// space of the largest line a level handles.
	chainGap = 20
	// minChain is the fewest transitions a chain needs to count as text:
	// a lone edge gives one, a thin line two.
	minChain = 4
	// coreMin and coreMax bound a line core's height at one pyramid level.
	coreMin = 4
	coreMax = 44
	// fineGap is the chain gap of the last search inside a busy region,
	// where text sits on a box whose margin is about as wide as a word space:
	// it splits a caption into words and letters, which mergeLines joins again,
	// but keeps them apart from the texture around the box.
	fineGap = 6
	// maxBoxes caps the boxes of one frame; each costs an OCR call.
	maxBoxes = 32
)

// pass is one way of searching a region: edge threshold, chain gap and the
// fewest transitions of a chain.
type pass struct {
	t, gap, min int
}

// passes are tried in order: each searches again where the one before found
// texture, that is components too tall for a line or without room around
// them (see find).
var passes = [...]pass{
	{t: edgeThreshold, gap: chainGap, min: minChain},
	{t: busyThreshold, gap: chainGap, min: minChain},
	{t: busyThreshold, gap: fineGap, min: 2},
}

type span struct {
	x0, x1 int32 // first and last transition of the chain, inclusive
	n      int32 // transitions in the chain
}

type comp struct {
	x0, y0, x1, y1 int // inclusive, in level coordinates
	n              int // transitions
	spans          int
	deeper         bool // to be searched again by the next pass
}

type cand struct {
	r     image.Rectangle
	score int
	// parts counts the candidates merged into this one; fine ones (found
	// by the last pass, in busy regions) count in fineParts too.
	parts, fineParts int
}

// plane is one pyramid level: 8-bit luma with its own stride.
type plane struct {
	pix    []byte
	stride int
	w, h   int
	scale  int // level pixels are scale×scale source pixels
}

func (p plane) row(y int) []byte { return p.pix[y*p.stride : y*p.stride+p.w] }

// scratch holds the buffers of one Detect call; they are pooled because a
// frame's worth of spans and pyramid levels would otherwise be reallocated
// for every frame.
type scratch struct {
	levels [][]byte
	tr     [3][]int32 // transitions of three consecutive rows, for scan
	rt     [3][]int32 // the same for refine
	ref    [2][]int32 // transitions of refine's reference rows
	spans  []span
	rows   []int32 // rows[i] is the index in spans of the first span of row r.Min.Y+i
	// raw and rawRows are the same for chains of all transitions, supported
	// or not: where there is grain or texture.
	raw     []span
	rawRows []int32
	sets    unionfind.Sets
	root    []int32
	comps   []comp
	deep    [len(passes)][]image.Rectangle // regions for the next pass, per pass
	cands   []cand
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Detect returns candidate text-line boxes in img (in img's coordinates),
// ordered top to bottom then left to right, non-overlapping, with a margin
// (see Margin) so glyphs aren't clipped. It finds light and dark text alike,
// outlined and shadowed text, and text on semi-transparent boxes over busy
// backgrounds. The result is never nil, so that a caller can tell "no text
// here" from "not looked at". Detect is safe for concurrent use.
func Detect(img *image.Gray, o DetectOptions) []image.Rectangle {
	return boxes(detect(img, o))
}

// boxes are the Boxes of crops.
func boxes(crops []Crop) []image.Rectangle {
	out := make([]image.Rectangle, len(crops))
	for i, c := range crops {
		out[i] = c.Box
	}
	return out
}

// detect is Detect with each line's box both as found and with its margin.
func detect(img *image.Gray, o DetectOptions) []Crop {
	if o.MinHeight <= 0 {
		o.MinHeight = 10
	}
	b := img.Rect
	if o.MaxHeight <= 0 {
		o.MaxHeight = defaultMaxHeight(b.Dx(), b.Dy())
	}
	out := []Crop{}
	if b.Dx() < 8 || b.Dy() < 8 || o.MaxHeight < o.MinHeight {
		return out
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.cands = s.cands[:0]

	src := plane{pix: img.Pix[img.PixOffset(b.Min.X, b.Min.Y):], stride: img.Stride, w: b.Dx(), h: b.Dy(), scale: 1}
	p := src
	for lv := 0; ; lv++ {
		if lv > 0 {
			if p.w < 16 || p.h < 16 {
				break
			}
			p = s.halve(lv-1, p)
		}
		// A level finds lines whose core is coreMin..coreMax level pixels,
		// that is lines of roughly 2×coreMin..1.2×coreMax source pixels.
		if p.w < 8 || p.h < 8 || coreMax*p.scale*6/5 < o.MinHeight {
			continue
		}
		s.find(p, src, image.Rect(0, 0, p.w, p.h), 0)
		if coreMax*p.scale*6/5 >= o.MaxHeight {
			break
		}
	}

	lines := s.bridge(src, mergeLines(s.cands))
	lines = slices.DeleteFunc(lines, func(c cand) bool {
		h := c.r.Dy()
		if c.fineParts == c.parts && (c.parts < 3 || 2*c.r.Dx() < 3*h) {
			// In a busy region a line is only believed when several
			// glyphs line up.
			return true
		}
		return h < o.MinHeight || h > o.MaxHeight || c.r.Dx() < h
	})
	if len(lines) > maxBoxes {
		slices.SortFunc(lines, func(a, b cand) int { return b.score - a.score })
		lines = lines[:maxBoxes]
	}
	for _, c := range lines {
		out = append(out, Crop{Text: c.r, Box: c.r})
	}
	pad(out, image.Rect(0, 0, b.Dx(), b.Dy()))
	order(out)
	for i := range out {
		out[i].Text, out[i].Box = out[i].Text.Add(b.Min), out[i].Box.Add(b.Min)
	}
	return out
}

// halve returns p at half size, each pixel the mean of four.
func (s *scratch) halve(i int, p plane) plane {
	w, h := p.w/2, p.h/2
	for len(s.levels) <= i {
		s.levels = append(s.levels, nil)
	}
	if cap(s.levels[i]) < w*h {
		s.levels[i] = make([]byte, w*h)
	}
	buf := s.levels[i][:w*h]
	for y := range h {
		a, b := p.row(2*y), p.row(2*y+1)
		o := buf[y*w : y*w+w]
		for x := range o {
			o[x] = byte((int(a[2*x]) + int(a[2*x+1]) + int(b[2*x]) + int(b[2*x+1]) + 2) >> 2)
		}
	}
	return plane{pix: buf, stride: w, w: w, h: h, scale: p.scale * 2}
}

// Margin returns the margin the detector leaves around a line whose glyphs
// are h pixels tall: about a fifth of h on either side and a sixth above and
// below, at least 3 and 2 pixels. Engines take it for granted (see Crop).
func Margin(h int) (x, y int) { return max(3, h/5), max(2, h/6) }

// pad sets each crop's Box to its Text with Margin around it, within bounds,
// without letting boxes overlap: where two would, they meet halfway.
func pad(cs []Crop, bounds image.Rectangle) {
	for i, c := range cs {
		px, py := Margin(c.Text.Dy())
		r := c.Text
		cs[i].Box = image.Rect(r.Min.X-px, r.Min.Y-py, r.Max.X+px, r.Max.Y+py).Intersect(bounds)
	}
	for i := range cs {
		for j := range cs {
			if i == j || !cs[i].Box.Overlaps(cs[j].Box) {
				continue
			}
			a, b := cs[i].Text, cs[j].Text
			ri, rj := &cs[i].Box, &cs[j].Box
			switch {
			case a.Max.Y <= b.Min.Y: // a above b
				m := (a.Max.Y + b.Min.Y) / 2
				ri.Max.Y, rj.Min.Y = min(ri.Max.Y, m), max(rj.Min.Y, m)
			case a.Max.X <= b.Min.X: // a left of b
				m := (a.Max.X + b.Min.X) / 2
				ri.Max.X, rj.Min.X = min(ri.Max.X, m), max(rj.Min.X, m)
			}
		}
	}
}

// order sorts crops into reading order by their boxes: rows of boxes that
// share most of their height, top to bottom, each row left to right.
func order(cs []Crop) {
	slices.SortFunc(cs, func(a, b Crop) int {
		return (a.Box.Min.Y + a.Box.Max.Y) - (b.Box.Min.Y + b.Box.Max.Y)
	})
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && 2*(min(cs[i].Box.Max.Y, cs[j].Box.Max.Y)-max(cs[i].Box.Min.Y, cs[j].Box.Min.Y)) > min(cs[i].Box.Dy(), cs[j].Box.Dy()) {
			j++
		}
		slices.SortFunc(cs[i:j], func(a, b Crop) int { return a.Box.Min.X - b.Box.Min.X })
		i = j
	}
}

// defaultMaxHeight returns the default MaxHeight of a w×h frame: a caption
// keeps its share of the frame's short side on frames beyond 1080p, while
// smaller frames keep the bound they were tuned with. MinHeight stays: a
// 10 px line of a 4K frame is no less legible than one of a 720p frame.
func defaultMaxHeight(w, h int) int {
	return max(baseMaxHeight, baseMaxHeight*min(w, h)/baseShortSide)
}

// baseMaxHeight is the default MaxHeight of frames whose short side is at
// most baseShortSide pixels.
const (
	baseMaxHeight = 160
	baseShortSide = 1080
)
