package motion

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

// textured is a busy picture of 640x360 moved by shift.
func textured(shift image.Point) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 640, 360))
	for y := range 360 {
		for x := range 640 {
			// Bands 37 px wide and 29 px tall (a picture's large shapes) under
			// blocks of 6 px (its detail), values from a hash.
			sx, sy := uint32(x-shift.X+1000), uint32(y-shift.Y+1000)
			band := (sx/37*2654435761)>>26 + (sy/29*2246822519)>>26
			detail := ((sx/6)*2654435761 ^ (sy/6)*2246822519) >> 27
			img.Pix[img.PixOffset(x, y)] = uint8(band + detail + 40)
		}
	}
	return img
}

func TestShiftFindsThePan(t *testing.T) {
	a := Of(textured(image.Point{}))
	for _, want := range []image.Point{{0, 0}, {7, 0}, {-23, 4}, {40, -31}, {90, 45}} {
		require.Equal(t, want, Shift(a, Of(textured(want))), "moved by %v", want)
	}
	// Pictures of other sizes: no shift.
	require.Equal(t, image.Point{}, Shift(a, Of(image.NewGray(image.Rect(0, 0, 320, 180)))))
}

func BenchmarkShift720p(b *testing.B) {
	img := image.NewGray(image.Rect(0, 0, 1280, 720))
	p := Of(img)
	for b.Loop() {
		Shift(p, Of(img))
	}
}
