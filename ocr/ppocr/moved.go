package ppocr

import (
	"image"
	"math"
)

// What changed in a frame, the picture's motion aside: when the camera
// pans, every cell of the summary changes, but most of what a cell shows
// was in the frame before, elsewhere. The scan looks only at what is new
// (what came in at an edge, what appeared over the picture), and the
// boxes it found move with the picture.

// moveBlock is the side, in frame pixels, of the blocks a moveTable sums.
const moveBlock = 4

// moveTable is a summed-area table of one frame's sums over moveBlock
// square blocks, sampled as summary samples (every other pixel of every
// other row): the mean over any cell-sized window, at block steps, in four
// lookups.
type moveTable struct {
	sum    []int32 // (bw+1) x (bh+1), row-major
	bw, bh int
	rect   image.Rectangle // the frame's
}

// fill makes t the table of img, reusing its memory.
func (t *moveTable) fill(img *image.Gray) {
	r := img.Rect
	t.rect, t.bw, t.bh = r, r.Dx()/moveBlock, r.Dy()/moveBlock
	w := t.bw + 1
	n := w * (t.bh + 1)
	if cap(t.sum) < n {
		t.sum = make([]int32, n)
	}
	t.sum = t.sum[:n]
	clear(t.sum[:w])
	for by := range t.bh {
		top := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+by*moveBlock):]
		low := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+by*moveBlock+2):]
		row := t.sum[(by+1)*w:][:w]
		above := t.sum[by*w:][:w]
		row[0] = 0
		var acc int32
		for bx := range t.bw {
			x := bx * moveBlock
			acc += int32(top[x]) + int32(top[x+2]) + int32(low[x]) + int32(low[x+2])
			row[bx+1] = above[bx+1] + acc
		}
	}
}

// mean is the mean of the samples in the cell-sized window whose top-left
// block is (bx, by), and whether the window lies inside the frame.
func (t *moveTable) mean(bx, by int) (float64, bool) {
	const n = thumbCell / moveBlock
	if bx < 0 || by < 0 || bx+n > t.bw || by+n > t.bh {
		return 0, false
	}
	w := t.bw + 1
	s := t.sum[(by+n)*w+bx+n] - t.sum[by*w+bx+n] - t.sum[(by+n)*w+bx] + t.sum[by*w+bx]
	return float64(s) / (n * n * 4), true
}

// meansAround returns the least and the greatest mean over the cell-sized
// windows at the block steps around frame offset (x, y) from the frame's
// corner (the window there is one of them, or lies between them), and
// whether they lie inside the frame.
func (t *moveTable) meansAround(x, y int) (lo, hi float64, ok bool) {
	bx, by := floorDiv(x, moveBlock), floorDiv(y, moveBlock)
	nx, ny := 1, 1
	if x%moveBlock != 0 {
		nx = 2
	}
	if y%moveBlock != 0 {
		ny = 2
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for dy := range ny {
		for dx := range nx {
			m, in := t.mean(bx+dx, by+dy)
			if !in {
				return 0, 0, false
			}
			lo, hi = min(lo, m), max(hi, m)
		}
	}
	return lo, hi, true
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int) int {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}

// fresh sorts the cells that changed since t's frame (changed, of a
// summary tw x th, means thumb) by where their picture was in t's frame,
// shift away: outside it (entered, brought in at an edge), or there but
// not the same (fresh: it appeared or changed over the moving picture; a
// mean further than thumbDiff from those of the windows around there, and
// not a lone cell, which the window's rounding makes at sharp edges). The
// others moved with the picture. The shift is taken (moved) only where it
// accounts for at least half of the cells that changed; else every one of
// them is fresh. Nil for none.
func (t *moveTable) fresh(thumb []int32, tw, th int, shift image.Point, changed []bool) (fresh, entered []bool, moved bool) {
	fresh, entered = make([]bool, len(changed)), make([]bool, len(changed))
	n, kept, nf, ne := 0, 0, 0, 0
	for i, c := range changed {
		if !c {
			continue
		}
		n++
		lo, hi, ok := t.meansAround(i%tw*thumbCell-shift.X, i/tw*thumbCell-shift.Y)
		switch v := float64(thumb[i]); {
		case !ok || (i%tw+1)*thumbCell > t.rect.Dx() || (i/tw+1)*thumbCell > t.rect.Dy():
			entered[i] = true
			ne++
		case v < lo-thumbDiff || v > hi+thumbDiff:
			fresh[i] = true
			nf++
		default:
			kept++
		}
	}
	if 2*kept < n {
		return changed, nil, false
	}
	for i, c := range fresh {
		if c && lone(fresh, entered, i, tw, th) {
			fresh[i] = false
			nf--
		}
	}
	if nf == 0 {
		fresh = nil
	}
	if ne == 0 {
		entered = nil
	}
	return fresh, entered, true
}

// lone reports whether cell i is the only one set, in a or b, among its
// neighbours.
func lone(a, b []bool, i, tw, th int) bool {
	x, y := i%tw, i/tw
	for ny := max(y-1, 0); ny <= min(y+1, th-1); ny++ {
		for nx := max(x-1, 0); nx <= min(x+1, tw-1); nx++ {
			if k := ny*tw + nx; k != i && (a[k] || b[k]) {
				return false
			}
		}
	}
	return true
}

// shiftCells returns cells (tw x th) moved by shift, rounded to cells.
func shiftCells(cells []bool, tw, th int, shift image.Point) []bool {
	out := make([]bool, len(cells))
	for i, c := range cells {
		if j, ok := shiftCell(i, tw, th, shift); c && ok {
			out[j] = true
		}
	}
	return out
}

// shiftCell returns cell i (of a summary tw x th) moved by shift, rounded
// to cells, and whether it is still in the frame.
func shiftCell(i, tw, th int, shift image.Point) (int, bool) {
	x := i%tw + int(math.Round(float64(shift.X)/thumbCell))
	y := i/tw + int(math.Round(float64(shift.Y)/thumbCell))
	return y*tw + x, x >= 0 && y >= 0 && x < tw && y < th
}

// moved returns b shifted by d, and whether it is still wholly inside
// frame.
func (b Box) moved(d image.Point, frame image.Rectangle) (Box, bool) {
	out := b
	for i := range out.q {
		out.q[i] = out.q[i].add(fromImage(d))
		out.Quad[i] = out.Quad[i].Add(d)
		if !out.Quad[i].In(frame) {
			return b, false
		}
	}
	return out, true
}

// coverSplits is how many times cover may halve a group of cells;
// coverMost the most rectangles it returns.
const (
	coverSplits = 2
	coverMost   = 8
)

// cover returns rectangles of cells that together hold the set cells of
// mask (tw x th): one for each group of them (cells a cell or less apart),
// its bounding rectangle, cut in two where two rectangles hold its cells
// in half the area or less (the strips a pan brings in along two edges
// are two strips, not the whole frame; changes strewn over a region stay
// one, which cuts no line apart), at most coverSplits times deep; of more
// than coverMost, those whose union adds the least area are merged.
func cover(mask []bool, tw, th int) []image.Rectangle {
	var out []image.Rectangle
	for _, g := range groups(mask, tw, th) {
		out = append(out, split(g, tw)...)
	}
	return merged(out, coverMost)
}

// mergedClose returns rs with each two whose union adds less than half
// their area made one, the same for what that leaves: the pieces of a
// strip are one strip, and two strips along two edges stay two.
func mergedClose(rs []image.Rectangle) []image.Rectangle {
	for again := true; again; {
		again = false
		for i := 0; i < len(rs) && !again; i++ {
			for j := i + 1; j < len(rs); j++ {
				if u := rs[i].Union(rs[j]); 2*area(u) < 3*(area(rs[i])+area(rs[j])) {
					rs[i] = u
					rs = append(rs[:j], rs[j+1:]...)
					again = true
					break
				}
			}
		}
	}
	return rs
}

// merged returns rs with the two whose union adds the least area made one,
// again and again, until at most n are left.
func merged(rs []image.Rectangle, n int) []image.Rectangle {
	for len(rs) > n {
		bi, bj, best := 0, 1, -1
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				if add := area(rs[i].Union(rs[j])) - area(rs[i]) - area(rs[j]); best < 0 || add < best {
					bi, bj, best = i, j, add
				}
			}
		}
		rs[bi] = rs[bi].Union(rs[bj])
		rs = append(rs[:bj], rs[bj+1:]...)
	}
	return rs
}

// area is r's, in its units.
func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// groups returns the set cells of mask (tw x th) in groups of cells at
// most one cell apart, each as a mask of its own.
func groups(mask []bool, tw, th int) [][]bool {
	seen := make([]bool, len(mask))
	var out [][]bool
	var stack []int
	for i, c := range mask {
		if !c || seen[i] {
			continue
		}
		g := make([]bool, len(mask))
		seen[i] = true
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			g[j] = true
			x, y := j%tw, j/tw
			for ny := max(y-2, 0); ny <= min(y+2, th-1); ny++ {
				for nx := max(x-2, 0); nx <= min(x+2, tw-1); nx++ {
					if k := ny*tw + nx; mask[k] && !seen[k] {
						seen[k] = true
						stack = append(stack, k)
					}
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// split returns rectangles that hold the set cells of mask (tw wide),
// as cover cuts them.
func split(mask []bool, tw int) []image.Rectangle {
	var out []image.Rectangle
	var cut func(r image.Rectangle, depth int)
	cut = func(r image.Rectangle, depth int) {
		b, n := bounds(mask, tw, r)
		if n == 0 {
			return
		}
		size := area(b)
		if depth == coverSplits || 2*n >= size {
			out = append(out, b)
			return
		}
		l, rr, cost := bestCut(mask, tw, b)
		if 2*cost > size {
			out = append(out, b)
			return
		}
		cut(l, depth+1)
		cut(rr, depth+1)
	}
	cut(image.Rect(0, 0, tw, len(mask)/tw), 0)
	return out
}

// bounds returns the bounding rectangle of the set cells of mask (tw wide)
// inside r, and how many there are.
func bounds(mask []bool, tw int, r image.Rectangle) (image.Rectangle, int) {
	var b image.Rectangle
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if mask[y*tw+x] {
				b = b.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return b, n
}

// bestCut returns the two parts of r, cut along a row or a column, whose
// set cells' bounding rectangles have the least area together, and that
// area.
func bestCut(mask []bool, tw int, r image.Rectangle) (image.Rectangle, image.Rectangle, int) {
	// Per column and per row of r, the extent of its set cells across.
	cols := make([]image.Rectangle, r.Dx())
	rows := make([]image.Rectangle, r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if mask[y*tw+x] {
				c := image.Rect(x, y, x+1, y+1)
				cols[x-r.Min.X] = cols[x-r.Min.X].Union(c)
				rows[y-r.Min.Y] = rows[y-r.Min.Y].Union(c)
			}
		}
	}
	best, bl, br := -1, image.Rectangle{}, image.Rectangle{}
	try := func(lines []image.Rectangle, part func(i int) (image.Rectangle, image.Rectangle)) {
		before := make([]image.Rectangle, len(lines)+1)
		for i, l := range lines {
			before[i+1] = before[i].Union(l)
		}
		var after image.Rectangle
		for i := len(lines) - 1; i > 0; i-- {
			after = after.Union(lines[i])
			if before[i].Empty() || after.Empty() {
				continue
			}
			if cost := area(before[i]) + area(after); best < 0 || cost < best {
				best = cost
				bl, br = part(i)
			}
		}
	}
	try(cols, func(i int) (image.Rectangle, image.Rectangle) {
		x := r.Min.X + i
		return image.Rect(r.Min.X, r.Min.Y, x, r.Max.Y), image.Rect(x, r.Min.Y, r.Max.X, r.Max.Y)
	})
	try(rows, func(i int) (image.Rectangle, image.Rectangle) {
		y := r.Min.Y + i
		return image.Rect(r.Min.X, r.Min.Y, r.Max.X, y), image.Rect(r.Min.X, y, r.Max.X, r.Max.Y)
	})
	if best < 0 {
		return r, image.Rectangle{}, area(r)
	}
	return bl, br, best
}
