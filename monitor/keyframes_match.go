package monitor

import (
	"image"

	"github.com/streamwatch/streamwatch/internal/motion"
)

const (
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
	d := motion.Shift(a.profile, b.profile)
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
			dev += motion.Abs(int(a.Pix[a.PixOffset(x, y)]) - mean)
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
			sum += motion.Abs(int(a.Pix[a.PixOffset(x, y)]) - int(b.Pix[b.PixOffset(bx, by)]))
			n++
		}
	}
	if n == 0 {
		return 255
	}
	return float64(sum) / float64(n)
}
