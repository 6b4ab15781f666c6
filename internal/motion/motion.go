// Package motion estimates how a whole picture moved between two frames (a
// pan, a tilt, a hand-held camera): the shift that best matches their row
// and column means. The keyframe judge and the line reader's change gate
// use it to tell a line that moved with the picture from a new one.
package motion

import "image"

// MaxShift is the largest move between two frames looked for, in pixels
// along each axis.
const MaxShift = 160

// Profile is a picture's row and column means, what Shift compares.
type Profile struct {
	Cols, Rows []int32
	Rect       image.Rectangle
}

// Of returns img's profile: the mean of each column and of each row, from
// every other pixel.
func Of(img *image.Gray) Profile {
	r := img.Rect
	w, h := r.Dx(), r.Dy()
	cols, rows := make([]int32, w), make([]int32, h)
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
	return Profile{Cols: cols, Rows: rows, Rect: r}
}

// Shift is how the picture of a moved to become b's: what is at p in a is
// at p+Shift in b (the zero point for pictures of different sizes).
func Shift(a, b Profile) image.Point {
	if !a.Rect.Eq(b.Rect) {
		return image.Point{}
	}
	return image.Point{bestShift(a.Cols, b.Cols), bestShift(a.Rows, b.Rows)}
}

// bestShift is the shift s, |s| <= MaxShift and leaving at least half of a
// in overlap, for which b[i+s] best matches a[i] (least mean difference;
// of equals, the smallest shift).
func bestShift(a, b []int32) int {
	n := min(len(a), len(b))
	best, bestCost := 0, int64(-1)
	for s := -min(MaxShift, n/2); s <= min(MaxShift, n/2); s++ {
		var cost, cnt int64
		for i := max(0, -s); i < n && i+s < n; i++ {
			cost += int64(Abs(int(a[i] - b[i+s])))
			cnt++
		}
		cost = cost * 1024 / max(cnt, 1)
		if bestCost < 0 || cost < bestCost || (cost == bestCost && Abs(s) < Abs(best)) {
			best, bestCost = s, cost
		}
	}
	return best
}

// Abs is |v|.
func Abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
