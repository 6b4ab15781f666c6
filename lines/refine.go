package lines

import "image"

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
