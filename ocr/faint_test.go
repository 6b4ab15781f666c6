package ocr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadFaintStretch reads a caption whose middle crosses a bar nearly as
// light as the text, beside a dark one: the local threshold must neither
// take the light bar for flat background (its contrast with the text is
// small) nor set the bar's strip next to the dark one against the mean of
// both (which joins it, and the glyph on it, to the background).
func TestReadFaintStretch(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer w.close()
	const bg = "color=c=0x303030:size=1280x720,drawbox=x=420:y=0:w=220:h=720:color=0xE2E2E2:t=fill"
	img := renderFrame(t, bg, frameText{text: "Nike Dunk knockoff shoes", font: regular, size: 52, x: "300", y: "500", style: "fontcolor=white"})
	box := caption(t, img)
	l, err := w.readRegion(img, box)
	require.NoError(t, err)
	require.Equal(t, "Nike Dunk knockoff shoes", l.Text)
}

func TestHanCount(t *testing.T) {
	require.Equal(t, 0, hanCount("Gucci"))
	require.Equal(t, 3, hanCount("香奈儿 A"))
}
