package lines

import (
	"image"
	"slices"
)

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
	s.sets.Reset(n)
	for ri := 1; ri+1 < len(s.rows); ri++ {
		i, iEnd := int(s.rows[ri-1]), int(s.rows[ri])
		j, jEnd := iEnd, int(s.rows[ri+1])
		for i < iEnd && j < jEnd {
			a, b := s.spans[i], s.spans[j]
			if a.x1 >= b.x0 && b.x1 >= a.x0 {
				s.sets.Union(i, j)
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
			r := s.sets.Find(i)
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
