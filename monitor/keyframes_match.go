package monitor

import "image"

const (
	// maxShift is the largest pan between two keyframes looked for, in
	// pixels along each axis.
	maxShift = 160
	// refine is how far, in pixels each way, a line is looked for around
	// where the pan puts it: the means give the pan to a few pixels.
	refine = 4
	// matchTolerance is how far, as a fraction of a line's contrast, its
	// pixels may differ on average from where they are looked for and still
	// count as the same line: other text differs by more.
	matchTolerance = 0.35
	// noiseTolerance is how far, as a multiple of the two pictures' mean
	// difference once panned, a line's pixels may differ and still count as
	// the same line: sensor noise and compression differ by less.
	noiseTolerance = 2
	// minContrast is the least mean deviation, in luma steps, that a line's
	// pixels are measured against.
	minContrast = 8
)

// matcher compares the lines of two keyframes, a before b.
type matcher struct {
	shift image.Point // what is at p in a is at p+shift in b
	back  image.Point // -shift
	noise float64     // mean difference of a and b with shift applied
}

func newMatcher(a, b picture) matcher {
	d := image.Point{bestShift(a.cols, b.cols), bestShift(a.rows, b.rows)}
	m := matcher{shift: d, back: image.Point{-d.X, -d.Y}}
	m.noise = difference(a.img, b.img, a.img.Rect, d, 4)
	return m
}

// present reports whether the line at r in a is in b: at r, or at r moved
// by d, give or take a few pixels. Where r moved by d leaves b, the line
// went out of the picture with the pan and counts as present.
func (m matcher) present(a, b *image.Gray, r image.Rectangle, d image.Point) bool {
	r = r.Intersect(a.Rect)
	if r.Empty() {
		return true
	}
	limit := max(matchTolerance*max(deviation(a, r), minContrast), noiseTolerance*m.noise)
	if difference(a, b, r, image.Point{}, 2) <= limit {
		return true
	}
	if d == (image.Point{}) {
		return false
	}
	moved := r.Add(d).Intersect(b.Rect)
	if moved.Dx()*moved.Dy()*2 < r.Dx()*r.Dy() {
		return true
	}
	for dy := -refine; dy <= refine; dy++ {
		for dx := -refine; dx <= refine; dx++ {
			if difference(a, b, r, d.Add(image.Point{dx, dy}), 2) <= limit {
				return true
			}
		}
	}
	return false
}

// profiles are the mean of each column and of each row of img, from every
// other pixel.
func profiles(img *image.Gray) (cols, rows []int32) {
	r := img.Rect
	w, h := r.Dx(), r.Dy()
	cols, rows = make([]int32, w), make([]int32, h)
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):][:w]
		var sum int32
		for x := y % 2; x < w; x += 2 {
			sum += int32(row[x])
			cols[x] += int32(row[x])
		}
		rows[y] = sum * 2 / int32(max(w, 1))
	}
	for x := range cols {
		cols[x] = cols[x] * 2 / int32(max(h, 1))
	}
	return cols, rows
}

// bestShift is the shift s, |s| <= maxShift and leaving at least half of a
// in overlap, for which b[i+s] best matches a[i] (least mean difference;
// of equals, the smallest shift).
func bestShift(a, b []int32) int {
	n := min(len(a), len(b))
	best, bestCost := 0, int64(-1)
	for s := -min(maxShift, n/2); s <= min(maxShift, n/2); s++ {
		var cost, cnt int64
		for i := max(0, -s); i < n && i+s < n; i++ {
			cost += int64(abs(int(a[i] - b[i+s])))
			cnt++
		}
		cost = cost * 1024 / max(cnt, 1)
		if bestCost < 0 || cost < bestCost || (cost == bestCost && abs(s) < abs(best)) {
			best, bestCost = s, cost
		}
	}
	return best
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// deviation is the mean absolute deviation of a's pixels in r from their
// mean, on every other row and column.
func deviation(a *image.Gray, r image.Rectangle) float64 {
	var sum, n int
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			sum += int(a.Pix[a.PixOffset(x, y)])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	mean := sum / n
	dev := 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			dev += abs(int(a.Pix[a.PixOffset(x, y)]) - mean)
		}
	}
	return float64(dev) / float64(n)
}

// difference is the mean absolute difference between a's pixels in r and
// b's at the same places moved by d, over those inside b, on every step-th
// row and column; with none inside, it is the largest possible.
func difference(a, b *image.Gray, r image.Rectangle, d image.Point, step int) float64 {
	var sum, n int
	for y := r.Min.Y; y < r.Max.Y; y += step {
		by := y + d.Y
		if by < b.Rect.Min.Y || by >= b.Rect.Max.Y {
			continue
		}
		for x := r.Min.X; x < r.Max.X; x += step {
			bx := x + d.X
			if bx < b.Rect.Min.X || bx >= b.Rect.Max.X {
				continue
			}
			sum += abs(int(a.Pix[a.PixOffset(x, y)]) - int(b.Pix[b.PixOffset(bx, by)]))
			n++
		}
	}
	if n == 0 {
		return 255
	}
	return float64(sum) / float64(n)
}
