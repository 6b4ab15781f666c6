package frames

import (
	"image"
	"slices"
	"sync"
)

// DetectOptions tune the detector; zero values mean defaults.
type DetectOptions struct {
	// MinHeight and MaxHeight bound the height in pixels of a text line
	// (ascender to descender). Defaults: 10 and 160.
	MinHeight, MaxHeight int
}

// Detector adapts Detect to the monitor's detector interface. It holds no
// state besides its options, so one value may serve any number of goroutines.
type Detector struct{ Options DetectOptions }

// Detect returns candidate text-line boxes in img; see the function Detect.
func (d Detector) Detect(img *image.Gray) []image.Rectangle { return Detect(img, d.Options) }

// The detector looks for rows in which contrast changes sign often within a
// short distance: a row through a line of glyphs crosses a stroke edge every
// few pixels, while the edges of colour bars, long vertical edges and thin
// diagonal lines come alone or in pairs. Chains of such dense transitions,
// joined across rows, give the core of a line (the x-height band, or the whole
// height of capitals and Han characters); the full-resolution image then
// extends it over ascenders and descenders. A pyramid of half-size copies lets
// one chain length serve lines from 10 to 160 pixels tall.
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
	parent  []int32
	root    []int32
	comps   []comp
	deep    [len(passes)][]image.Rectangle // regions for the next pass, per pass
	cands   []cand
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Detect returns candidate text-line boxes in img (in img's coordinates),
// ordered top to bottom then left to right, non-overlapping, padded a little so
// glyphs aren't clipped. It finds light and dark text alike, outlined and
// shadowed text, and text on semi-transparent boxes over busy backgrounds. The
// result is never nil, so that a caller can tell "no text here" from "not
// looked at".
func Detect(img *image.Gray, o DetectOptions) []image.Rectangle {
	if o.MinHeight <= 0 {
		o.MinHeight = 10
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 160
	}
	out := []image.Rectangle{}
	b := img.Rect
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
		out = append(out, c.r)
	}
	pad(out, image.Rect(0, 0, b.Dx(), b.Dy()))
	order(out)
	for i := range out {
		out[i] = out[i].Add(b.Min)
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

// find adds to s.cands the line candidates of region r of level p found by
// passes[k]. Components too tall for a line, and lines that run into texture
// above or below, are searched again by the next pass: on a semi-transparent
// caption box over a busy background the text keeps its contrast while the
// box damps the background's, and the box's margin parts them.
func (s *scratch) find(p, src plane, r image.Rectangle, k int) {
	ps := passes[k]
	fine := k == len(passes)-1
	// Scan a band above and below r as well, for the quiet test below.
	band := image.Rect(r.Min.X, r.Min.Y-2*coreMax, r.Max.X, r.Max.Y+2*coreMax).Intersect(image.Rect(0, 0, p.w, p.h))
	s.scan(p, band, ps)
	start := len(s.comps)
	s.components(band.Min.Y)
	end := len(s.comps)
	f := p.scale
	for i := start; i < end; i++ {
		c := &s.comps[i]
		if c.y1 < r.Min.Y || c.y0 >= r.Max.Y {
			continue
		}
		hc, wc := c.y1-c.y0+1, c.x1-c.x0+1
		maxCore := coreMax
		if fine {
			// Words rather than lines: ascender to descender.
			maxCore = coreMax * 4 / 3
		}
		switch {
		case hc > maxCore:
			c.deeper = true
			continue
		case hc < coreMin, 2*c.spans < hc:
			continue
		case !fine && (wc < hc || wc < 6 || c.n < 5*c.spans):
			// Lines, not letters (the last pass finds letters): too
			// narrow, or too few strokes per row for more than a glyph or
			// two.
			continue
		}
		// A line has room around it: beyond its ascenders and descenders
		// (about half its core's height) and as much again as the core is
		// high, some row has no chain of transitions over the line's
		// columns. A patch of texture has none.
		reach := hc*6/10 + hc*3/2 + 1
		if !s.quiet(band, c.x0, c.x1, c.y0-1, -1, reach) || !s.quiet(band, c.x0, c.x1, c.y1+1, 1, reach) {
			c.deeper = true
			continue
		}
		box := s.refine(src, image.Rect(c.x0*f, c.y0*f, (c.x1+1)*f, (c.y1+1)*f), hc*f, f, ps.t)
		if !box.Empty() {
			fp := 0
			if fine {
				fp = 1
			}
			s.cands = append(s.cands, cand{r: box, score: c.n * f, parts: 1, fineParts: fp})
		}
	}
	// The next pass overwrites the spans, so it runs once this pass's
	// components are done with them, and once per stack of them: texture
	// breaks up into many components.
	deep := s.deep[k][:0]
	for i := start; i < end; i++ {
		if c := s.comps[i]; c.deeper && !fine {
			deep = append(deep, image.Rect(c.x0, c.y0, c.x1+1, c.y1+1))
		}
	}
	s.deep[k] = deep
	s.comps = s.comps[:start]
	slices.SortFunc(deep, func(a, b image.Rectangle) int { return a.Min.Y - b.Min.Y })
	for i := 0; i < len(deep); {
		u := deep[i]
		j := i + 1
		for ; j < len(deep) && deep[j].Min.Y <= u.Max.Y+2*coreMax; j++ {
			u = u.Union(deep[j])
		}
		s.find(p, src, u, k+1)
		i = j
	}
}

// quiet reports whether, going from row y of the last scan (of region r) in
// direction dir for at most reach rows, there is a row in which no chain of
// transitions, supported or not, overlaps columns [x0, x1], or the region
// ends.
func (s *scratch) quiet(r image.Rectangle, x0, x1, y, dir, reach int) bool {
	for k := 0; k < reach; k, y = k+1, y+dir {
		if y < r.Min.Y || y >= r.Max.Y {
			return true
		}
		ri := y - r.Min.Y
		free := true
		for _, sp := range s.raw[s.rawRows[ri]:s.rawRows[ri+1]] {
			if int(sp.x1) >= x0 && int(sp.x0) <= x1 {
				free = false
				break
			}
		}
		if free {
			return true
		}
	}
	return false
}

// scan fills s.spans and s.rows with the chains of dense transitions in r.
// A transition counts only when the rows above and below have one of the
// same sign within a pixel: stroke edges run on across rows, pixel noise
// (grainy textures, sensor noise) does not.
func (s *scratch) scan(p plane, r image.Rectangle, ps pass) {
	s.spans, s.rows = s.spans[:0], s.rows[:0]
	s.raw, s.rawRows = s.raw[:0], s.rawRows[:0]
	x0, x1 := max(r.Min.X, 1), min(r.Max.X, p.w-1)
	prev := transitions(s.tr[0][:0], p, r.Min.Y-1, x0, x1, ps.t)
	cur := transitions(s.tr[1][:0], p, r.Min.Y, x0, x1, ps.t)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		next := transitions(s.tr[2][:0], p, y+1, x0, x1, ps.t)
		s.rows = append(s.rows, int32(len(s.spans)))
		s.rawRows = append(s.rawRows, int32(len(s.raw)))
		var chain, raw chainer
		ia, ib := 0, 0
		for _, v := range cur {
			x := int(v >> 1)
			s.raw = raw.add(s.raw, x, ps)
			if supported(v, prev, &ia) && supported(v, next, &ib) {
				s.spans = chain.add(s.spans, x, ps)
			}
		}
		s.spans = chain.end(s.spans, ps)
		s.raw = raw.end(s.raw, ps)
		s.tr[0], s.tr[1], s.tr[2] = cur, next, prev
		prev, cur = cur, next
	}
	s.rows = append(s.rows, int32(len(s.spans)))
	s.rawRows = append(s.rawRows, int32(len(s.raw)))
}

// chainer strings transitions of a row into chains.
type chainer struct{ first, last, n int }

// add appends to dst the chain that x ends, if x is too far from it and it
// is long enough, and extends or starts a chain with x.
func (c *chainer) add(dst []span, x int, ps pass) []span {
	if c.n > 0 && x-c.last > ps.gap {
		dst = c.end(dst, ps)
	}
	if c.n == 0 {
		c.first = x
	}
	c.last = x
	c.n++
	return dst
}

// end appends the open chain to dst if it is long enough, and closes it.
func (c *chainer) end(dst []span, ps pass) []span {
	if c.n >= ps.min {
		dst = append(dst, span{x0: int32(c.first), x1: int32(c.last), n: int32(c.n)})
	}
	c.n = 0
	return dst
}

// transitions appends to dst the transitions of row y of p in [x0, x1): the
// first pixel of each run of same-signed steps of at least t between a
// pixel's two neighbours, encoded as x<<1 | rising.
func transitions(dst []int32, p plane, y, x0, x1, t int) []int32 {
	if y < 0 || y >= p.h || x0 >= x1 {
		return dst
	}
	row := p.row(y)
	left, right := row[x0-1:x1-1], row[x0+1:x1+1]
	right = right[:len(left)]
	prev := 0
	for i, l := range left {
		d := int(right[i]) - int(l)
		// -t < d < t, in one comparison.
		if uint(d+t-1) < uint(2*t-1) {
			prev = 0
			continue
		}
		sg := 1 | d>>63 // 1 or -1
		if sg == prev {
			continue
		}
		prev = sg
		v := int32(x0+i) << 1
		if sg > 0 {
			v |= 1
		}
		dst = append(dst, v)
	}
	return dst
}

// supported reports whether other, a sorted transition list of a
// neighbouring row, holds a transition of v's sign within one pixel of v.
// Calls must come in increasing v; *i carries the scan position.
func supported(v int32, other []int32, i *int) bool {
	x := v >> 1
	for *i < len(other) && other[*i]>>1 < x-1 {
		*i++
	}
	for k := *i; k < len(other) && other[k]>>1 <= x+1; k++ {
		if (other[k]^v)&1 == 0 {
			return true
		}
	}
	return false
}

// components joins the spans of adjacent rows that overlap and appends one
// comp per connected set to s.comps. y0 is the level row of s.rows[0].
func (s *scratch) components(y0 int) {
	n := len(s.spans)
	if n == 0 {
		return
	}
	s.parent = s.parent[:0]
	for i := range n {
		s.parent = append(s.parent, int32(i))
	}
	for ri := 1; ri+1 < len(s.rows); ri++ {
		i, iEnd := int(s.rows[ri-1]), int(s.rows[ri])
		j, jEnd := iEnd, int(s.rows[ri+1])
		for i < iEnd && j < jEnd {
			a, b := s.spans[i], s.spans[j]
			if a.x1 >= b.x0 && b.x1 >= a.x0 {
				s.union(i, j)
			}
			if a.x1 < b.x1 {
				i++
			} else {
				j++
			}
		}
	}
	if cap(s.root) < n {
		s.root = make([]int32, n)
	}
	s.root = s.root[:n]
	for i := range s.root {
		s.root[i] = -1
	}
	for ri := 0; ri+1 < len(s.rows); ri++ {
		y := y0 + ri
		for i := int(s.rows[ri]); i < int(s.rows[ri+1]); i++ {
			sp := s.spans[i]
			r := s.findRoot(i)
			ci := s.root[r]
			if ci < 0 {
				ci = int32(len(s.comps))
				s.root[r] = ci
				s.comps = append(s.comps, comp{x0: int(sp.x0), x1: int(sp.x1), y0: y, y1: y})
			}
			c := &s.comps[ci]
			c.x0, c.x1 = min(c.x0, int(sp.x0)), max(c.x1, int(sp.x1))
			c.y1 = y
			c.n += int(sp.n)
			c.spans++
		}
	}
}

func (s *scratch) findRoot(i int) int {
	for int(s.parent[i]) != i {
		s.parent[i] = s.parent[s.parent[i]]
		i = int(s.parent[i])
	}
	return i
}

func (s *scratch) union(a, b int) {
	ra, rb := s.findRoot(a), s.findRoot(b)
	if ra == rb {
		return
	}
	if ra < rb {
		s.parent[rb] = int32(ra)
	} else {
		s.parent[ra] = int32(rb)
	}
}

// refine fits box, a line core found at a level of scale f, to the source
// image. It trims rows without a stroke (a rising and a falling transition
// close together; the lone edges of bars and boxes are no strokes) and extends
// the box over ascenders and descenders, rows that still cross a stroke, up
// to about half the core height on each side. Like scan, refine counts only
// transitions that continue in a neighbouring row.
func (s *scratch) refine(src plane, box image.Rectangle, core, f, t int) image.Rectangle {
	box = image.Rect(box.Min.X-f, box.Min.Y, box.Max.X+f, box.Max.Y).Intersect(image.Rect(0, 0, src.w, src.h))
	x0, x1 := max(box.Min.X, 1), min(box.Max.X, src.w-1)
	width := max(3, core/4)
	grow := max(1, core*6/10)
	// stroked reports whether row y crosses a stroke, leaving out the
	// transitions of ref: what still stands beyond the reach of ascenders and
	// descenders is background (the edge of a bar, a line through the
	// picture), not part of the glyphs.
	stroked := func(y int, ref []int32, supportedOnly bool) bool {
		var tr []int32
		if supportedOnly {
			tr = s.supportedRow(src, y, x0, x1, t)
		} else {
			s.rt[1] = transitions(s.rt[1][:0], src, y, x0, x1, t)
			tr = s.rt[1]
		}
		if len(ref) > 0 {
			i, keep := 0, tr[:0]
			for _, v := range tr {
				if !near(v, ref, &i) {
					keep = append(keep, v)
				}
			}
			tr = keep
		}
		_, _, n := strokes(tr, width)
		return n > 0
	}
	for box.Min.Y < box.Max.Y && !stroked(box.Min.Y, nil, true) {
		box.Min.Y++
	}
	for box.Max.Y > box.Min.Y && !stroked(box.Max.Y-1, nil, true) {
		box.Max.Y--
	}
	if box.Empty() {
		return image.Rectangle{}
	}
	above := transitions(s.ref[0][:0], src, box.Min.Y-grow-1, x0, x1, t)
	below := transitions(s.ref[1][:0], src, box.Max.Y+grow, x0, x1, t)
	s.ref[0], s.ref[1] = above, below
	for k := 0; k < grow && box.Min.Y > 0 && stroked(box.Min.Y-1, above, true); k++ {
		box.Min.Y--
	}
	for k := 0; k < grow && box.Max.Y < src.h && stroked(box.Max.Y, below, true); k++ {
		box.Max.Y++
	}
	// The rounded ends of strokes (the bottom of a g, the top of an S)
	// run too flat for their transitions to line up from row to row; a few
	// more rows with any stroke take them in.
	tail := max(1, core/8)
	for k := 0; k < tail && box.Min.Y > 0 && stroked(box.Min.Y-1, above, false); k++ {
		box.Min.Y--
	}
	for k := 0; k < tail && box.Max.Y < src.h && stroked(box.Max.Y, below, false); k++ {
		box.Max.Y++
	}
	lo, hi := x1, x0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		if a, b, n := strokes(s.supportedRow(src, y, x0, x1, t), width); n > 0 {
			lo, hi = min(lo, a), max(hi, b+1)
		}
	}
	if hi <= lo {
		return image.Rectangle{}
	}
	box.Min.X, box.Max.X = lo-1, hi+1
	return box.Intersect(image.Rect(0, 0, src.w, src.h))
}

// near reports whether ref, a sorted transition list, holds a transition of
// either sign within a pixel of v. Calls must come in increasing v; *i
// carries the scan position.
func near(v int32, ref []int32, i *int) bool {
	x := v >> 1
	for *i < len(ref) && ref[*i]>>1 < x-1 {
		*i++
	}
	return *i < len(ref) && ref[*i]>>1 <= x+1
}

// supportedRow returns the transitions of row y of p in [x0, x1) that have
// one of the same sign within a pixel in the row above or below. The result
// is valid until the next call.
func (s *scratch) supportedRow(p plane, y, x0, x1, t int) []int32 {
	x0, x1 = max(x0, 1), min(x1, p.w-1)
	above := transitions(s.rt[0][:0], p, y-1, x0, x1, t)
	row := transitions(s.rt[1][:0], p, y, x0, x1, t)
	below := transitions(s.rt[2][:0], p, y+1, x0, x1, t)
	s.rt[0], s.rt[1], s.rt[2] = above, row, below
	out := row[:0]
	ia, ib := 0, 0
	for _, v := range row {
		// Both scans must advance: supported keeps a position per list.
		a := supported(v, above, &ia)
		if b := supported(v, below, &ib); a || b {
			out = append(out, v)
		}
	}
	return out
}

// strokes counts the strokes among the transitions tr: a transition followed
// within width pixels by one of the opposite sign. lo and hi are the first and
// last transition of any stroke.
func strokes(tr []int32, width int) (lo, hi, n int) {
	lo, hi = 1<<30, -1
	for i := 1; i < len(tr); i++ {
		a, b := tr[i-1], tr[i]
		if (a^b)&1 == 1 && int(b>>1-a>>1) <= width {
			n++
			lo, hi = min(lo, int(a>>1)), max(hi, int(b>>1))
		}
	}
	return lo, hi, n
}

// mergeLines unites candidates that overlap or that continue one another on
// the same line (words of one caption found apart, or one line found at two
// pyramid levels).
func mergeLines(cs []cand) []cand {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(cs); i++ {
			for j := i + 1; j < len(cs); j++ {
				if sameLine(cs[i].r, cs[j].r) {
					cs[i].r = cs[i].r.Union(cs[j].r)
					cs[i].score += cs[j].score
					cs[i].parts += cs[j].parts
					cs[i].fineParts += cs[j].fineParts
					cs = slices.Delete(cs, j, j+1)
					changed = true
					j--
				}
			}
		}
	}
	return cs
}

func sameLine(a, b image.Rectangle) bool {
	if a.Overlaps(b) {
		return true
	}
	lo, hi := min(a.Dy(), b.Dy()), max(a.Dy(), b.Dy())
	ov := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	switch {
	case 2*ov < lo:
		return false
	case 2*lo < hi && 5*ov < 4*lo:
		// Of very different heights (a digit or a mark next to a word
		// with ascenders and descenders), the small one must lie within the
		// big one's rows.
		return false
	}
	gap := max(a.Min.X, b.Min.X) - min(a.Max.X, b.Max.X)
	return gap <= hi
}

// bridgeThreshold is the edge threshold of bridge: low enough for text on a
// background nearly as light (or dark) as itself, such as white on yellow
// (a step of about 25 in luma), and still above compression noise.
const bridgeThreshold = 14

// bridge joins lines that lie on the same rows with a gap between them when
// the gap is filled with glyphs that the detector's edge threshold missed:
// part of a caption crossing a stretch of background almost as light as its
// text (white on yellow) loses its edges, and the line comes apart into the
// words on either side. The gap is searched on the lines' rows alone with a
// lower threshold, and joined only when strokes run along the whole of it
// (no stretch longer than a word space without one) and the rows beyond
// the line, above and below, are quiet at that threshold: otherwise the
// low threshold is only seeing texture or noise.
func (s *scratch) bridge(src plane, cs []cand) []cand {
	if len(cs) < 2 {
		return cs
	}
	slices.SortFunc(cs, func(a, b cand) int { return a.r.Min.X - b.r.Min.X })
	for joined := true; joined; {
		joined = false
		for i := 0; i < len(cs) && !joined; i++ {
			for j := i + 1; j < len(cs); j++ {
				a, b := cs[i].r, cs[j].r
				if b.Min.X <= a.Max.X || !s.bridged(src, a, b) {
					continue
				}
				cs[i].r = a.Union(b)
				cs[i].score += cs[j].score
				cs[i].parts += cs[j].parts
				cs[i].fineParts += cs[j].fineParts
				cs = slices.Delete(cs, j, j+1)
				joined = true
				break
			}
		}
	}
	return mergeLines(cs)
}

// bridged reports whether a, left of b on the same rows, are parts of one
// line: see bridge.
func (s *scratch) bridged(src plane, a, b image.Rectangle) bool {
	lo, hi := min(a.Dy(), b.Dy()), max(a.Dy(), b.Dy())
	y0, y1 := max(a.Min.Y, b.Min.Y), min(a.Max.Y, b.Max.Y)
	// Of about one height, and mostly on the same rows.
	if 4*lo < 3*hi || 4*(y1-y0) < 3*hi {
		return false
	}
	x0, x1 := a.Max.X, b.Min.X
	if x1-x0 <= hi || x1-x0 > 12*hi {
		// Short gaps are mergeLines' to join; wide ones hold no caption.
		return false
	}
	width := max(3, hi/4)
	// Strokes per column, over the shared rows.
	cols := make([]int32, x1-x0)
	strokeCols := func(y int, mark bool) int {
		tr := s.supportedRow(src, y, x0, x1, bridgeThreshold)
		n := 0
		for k := 1; k < len(tr); k++ {
			p, q := tr[k-1], tr[k]
			if (p^q)&1 == 1 && int(q>>1-p>>1) <= width {
				n++
				if mark {
					for x := int(p >> 1); x <= int(q>>1); x++ {
						cols[x-x0]++
					}
				}
			}
		}
		return n
	}
	inside := 0
	for y := y0; y < y1; y++ {
		inside += strokeCols(y, true)
	}
	// Rows beyond ascenders and descenders, as many as the line has.
	outside, rows := 0, 0
	for k := 0; k < y1-y0; k++ {
		for _, y := range [2]int{y0 - hi/2 - 1 - k, y1 + hi/2 + k} {
			if y >= 1 && y < src.h-1 {
				outside += strokeCols(y, false)
				rows++
			}
		}
	}
	if rows > 0 && 4*outside*(y1-y0) > inside*rows {
		return false
	}
	// Text has a stroke in most rows every letter or two.
	if inside*hi < (x1-x0)*(y1-y0)/2 {
		return false
	}
	run := 0
	for _, c := range cols {
		if c > 0 {
			run = 0
			continue
		}
		if run++; 4*run > 3*hi {
			return false
		}
	}
	return true
}

// pad grows each box by a margin proportional to its height, within bounds,
// without letting padded boxes overlap: where two would, they meet halfway.
func pad(rs []image.Rectangle, bounds image.Rectangle) {
	orig := slices.Clone(rs)
	for i, r := range rs {
		h := r.Dy()
		py, px := max(2, h/6), max(3, h/5)
		rs[i] = image.Rect(r.Min.X-px, r.Min.Y-py, r.Max.X+px, r.Max.Y+py).Intersect(bounds)
	}
	for i := range rs {
		for j := range rs {
			if i == j || !rs[i].Overlaps(rs[j]) {
				continue
			}
			a, b := orig[i], orig[j]
			switch {
			case a.Max.Y <= b.Min.Y: // a above b
				m := (a.Max.Y + b.Min.Y) / 2
				rs[i].Max.Y, rs[j].Min.Y = min(rs[i].Max.Y, m), max(rs[j].Min.Y, m)
			case a.Max.X <= b.Min.X: // a left of b
				m := (a.Max.X + b.Min.X) / 2
				rs[i].Max.X, rs[j].Min.X = min(rs[i].Max.X, m), max(rs[j].Min.X, m)
			}
		}
	}
}

// order sorts boxes into reading order: rows of boxes that share most of
// their height, top to bottom, each row left to right.
func order(rs []image.Rectangle) {
	slices.SortFunc(rs, func(a, b image.Rectangle) int {
		return (a.Min.Y + a.Max.Y) - (b.Min.Y + b.Max.Y)
	})
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && 2*(min(rs[i].Max.Y, rs[j].Max.Y)-max(rs[i].Min.Y, rs[j].Min.Y)) > min(rs[i].Dy(), rs[j].Dy()) {
			j++
		}
		slices.SortFunc(rs[i:j], func(a, b image.Rectangle) int { return a.Min.X - b.Min.X })
		i = j
	}
}
