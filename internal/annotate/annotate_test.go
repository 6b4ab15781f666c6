package annotate

import (
	"image"
	"image/color"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDrawableReplacesWhatTheFontLacks(t *testing.T) {
	require.Equal(t, "GUCCI ?? 1:1 Herm?s", Drawable("GUCCI 古驰 1:1 Hermès"))
	require.Equal(t, "a?b", Drawable("a\tb"))
}

func TestBoxAndLabelStayInside(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	dst := RGBA(img)
	red := color.RGBA{R: 255, A: 255}
	Box(dst, image.Rect(10, 10, 20, 20), red, 2)
	require.Equal(t, red, dst.RGBAAt(15, 8), "top edge, outside the box")
	require.Equal(t, color.RGBA{A: 255}, dst.RGBAAt(15, 15), "inside untouched")
	// A label at the top left corner is moved down into the image; one
	// longer than the image is cut at its edge, not wrapped.
	Label(dst, image.Pt(0, 0), "a long label", color.RGBA{G: 255, A: 255}, color.RGBA{B: 255, A: 255})
	require.Equal(t, color.RGBA{B: 255, A: 255}, dst.RGBAAt(0, 0))
}
