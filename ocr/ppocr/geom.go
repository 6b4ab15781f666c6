package ppocr

import (
	"image"
	"math"
	"slices"
)

// pt is a point in pixel-centre coordinates.
type pt struct{ x, y float64 }

func (a pt) sub(b pt) pt         { return pt{a.x - b.x, a.y - b.y} }
func (a pt) add(b pt) pt         { return pt{a.x + b.x, a.y + b.y} }
func (a pt) scale(s float64) pt  { return pt{a.x * s, a.y * s} }
func (a pt) dot(b pt) float64    { return a.x*b.x + a.y*b.y }
func (a pt) cross(b pt) float64  { return a.x*b.y - a.y*b.x }
func (a pt) dist(b pt) float64   { return math.Hypot(a.x-b.x, a.y-b.y) }
func (a pt) image() image.Point  { return image.Pt(int(math.Round(a.x)), int(math.Round(a.y))) }
func fromImage(p image.Point) pt { return pt{float64(p.X), float64(p.Y)} }
func lerp(a, b pt, t float64) pt { return a.add(b.sub(a).scale(t)) }

// quad is a rotated rectangle: top-left, top-right, bottom-right,
// bottom-left, as PP-OCR orders them (get_mini_boxes).
type quad [4]pt

// rect is a rotated rectangle by centre, unit axis and side lengths.
type rect struct {
	c    pt
	u    pt      // unit vector along the first side; the second is u turned +90°
	w, h float64 // side lengths along u and across it
}

// corners returns the rectangle's corners in PP-OCR's order: sorted by x,
// the upper of the two leftmost is top-left, the lower bottom-left, and so
// on the right.
func (r rect) corners() quad {
	v := pt{-r.u.y, r.u.x}
	a, b := r.u.scale(r.w/2), v.scale(r.h/2)
	ps := []pt{r.c.sub(a).sub(b), r.c.add(a).sub(b), r.c.add(a).add(b), r.c.sub(a).add(b)}
	slices.SortStableFunc(ps, func(p, q pt) int {
		switch {
		case p.x < q.x:
			return -1
		case p.x > q.x:
			return 1
		}
		return 0
	})
	var q quad
	q[0], q[3] = ps[0], ps[1]
	if ps[1].y < ps[0].y {
		q[0], q[3] = ps[1], ps[0]
	}
	q[1], q[2] = ps[2], ps[3]
	if ps[3].y < ps[2].y {
		q[1], q[2] = ps[3], ps[2]
	}
	return q
}

// grow makes each side longer by 2d, keeping the centre and axes.
func (r rect) grow(d float64) rect { r.w += 2 * d; r.h += 2 * d; return r }

// contains reports whether p lies inside r (borders included).
func (r rect) contains(p pt) bool {
	d := p.sub(r.c)
	v := pt{-r.u.y, r.u.x}
	return math.Abs(d.dot(r.u)) <= r.w/2 && math.Abs(d.dot(v)) <= r.h/2
}

// hull returns the convex hull of ps counter-clockwise (in image
// coordinates: y down), without collinear points. ps is reordered.
func hull(ps []pt) []pt {
	slices.SortFunc(ps, func(a, b pt) int {
		if a.x != b.x {
			return cmpFloat(a.x, b.x)
		}
		return cmpFloat(a.y, b.y)
	})
	if len(ps) < 3 {
		return ps
	}
	h := make([]pt, 0, 2*len(ps))
	for pass := 0; pass < 2; pass++ {
		start := len(h)
		for _, p := range ps {
			for len(h) >= start+2 && h[len(h)-1].sub(h[len(h)-2]).cross(p.sub(h[len(h)-2])) <= 0 {
				h = h[:len(h)-1]
			}
			h = append(h, p)
		}
		h = h[:len(h)-1]
		slices.Reverse(ps)
	}
	return h
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// minAreaRect returns the smallest rectangle around the convex polygon h
// (rotating calipers: one side of it lies on an edge of the hull).
func minAreaRect(h []pt) rect {
	switch len(h) {
	case 0:
		return rect{u: pt{1, 0}}
	case 1:
		return rect{c: h[0], u: pt{1, 0}}
	}
	best := rect{}
	bestArea := math.Inf(1)
	for i := range h {
		e := h[(i+1)%len(h)].sub(h[i])
		n := math.Hypot(e.x, e.y)
		if n == 0 {
			continue
		}
		u := e.scale(1 / n)
		v := pt{-u.y, u.x}
		lo, hi := pt{math.Inf(1), math.Inf(1)}, pt{math.Inf(-1), math.Inf(-1)}
		for _, p := range h {
			a, b := p.dot(u), p.dot(v)
			lo = pt{math.Min(lo.x, a), math.Min(lo.y, b)}
			hi = pt{math.Max(hi.x, a), math.Max(hi.y, b)}
		}
		w, ht := hi.x-lo.x, hi.y-lo.y
		if w*ht < bestArea {
			bestArea = w * ht
			c := u.scale((lo.x + hi.x) / 2).add(v.scale((lo.y + hi.y) / 2))
			best = rect{c: c, u: u, w: w, h: ht}
		}
	}
	// Keep the first axis the one nearer horizontal, as the long side of a
	// line usually is: the corners come out the same either way.
	if math.Abs(best.u.y) > math.Abs(best.u.x) {
		best.u = pt{best.u.y, -best.u.x}
		best.w, best.h = best.h, best.w
	}
	if best.u.x < 0 {
		best.u = best.u.scale(-1)
	}
	return best
}

// components labels the 4-connected regions of on (w×h, row-major) and
// returns, for each, the points of its border pixels (those with a
// 4-neighbour off). labels and the queue are scratch space reused between
// calls.
type labeler struct {
	labels []int32
	queue  []int32
}

func (l *labeler) components(on []bool, w, h int, visit func(border []pt)) {
	n := w * h
	if cap(l.labels) < n {
		l.labels = make([]int32, n)
	}
	lab := l.labels[:n]
	clear(lab)
	var border []pt
	next := int32(0)
	for start := range n {
		if !on[start] || lab[start] != 0 {
			continue
		}
		next++
		lab[start] = next
		l.queue = append(l.queue[:0], int32(start))
		border = border[:0]
		for len(l.queue) > 0 {
			i := int(l.queue[len(l.queue)-1])
			l.queue = l.queue[:len(l.queue)-1]
			x, y := i%w, i/w
			edge := false
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				nx, ny := x+d[0], y+d[1]
				if nx < 0 || ny < 0 || nx >= w || ny >= h || !on[ny*w+nx] {
					edge = true
					continue
				}
				if j := ny*w + nx; lab[j] == 0 {
					lab[j] = next
					l.queue = append(l.queue, int32(j))
				}
			}
			if edge {
				border = append(border, pt{float64(x), float64(y)})
			}
		}
		visit(border)
	}
}
