package ocr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// serifItalic is the serif italic the eval corpus draws with.
const serifItalic = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf"

// TestReadDropShadowOverOwnColour reads yellow text with a dark drop shadow
// across colour bars, one of which is yellow too: over it the glyphs show
// only through their shadow, and every binarisation loses them. The
// shadow's offset, found where both glyph and shadow show, moves the
// shadow back onto the glyphs. The backgrounds are lavfi's first frames,
// the same on every run.
func TestReadDropShadowOverOwnColour(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	for _, bg := range []string{"testsrc2=size=720x1280", "smptebars=size=720x1280"} {
		t.Run(bg, func(t *testing.T) {
			const text = "Gucci scarf - replica"
			img := renderFrame(t, bg, frameText{text: text, font: serifItalic, size: 52, x: "(w-tw)/2", y: "h*3/4-th/2",
				style: "fontcolor=yellow:shadowcolor=black:shadowx=3:shadowy=3"})
			box := caption(t, img)
			l, err := w.readRegion(img, box)
			require.NoError(t, err)
			require.Equal(t, text, l.Text)
		})
	}
}
