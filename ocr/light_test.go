package ocr

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/lines"
)

// TestLightReadsAreFewAndKeepChinese: a light read (the engine is behind)
// gives a line that reads as junk a Chinese try and no more, where a full
// read tries every rendering and model; a Chinese caption is still read.
func TestLightReadsAreFewAndKeepChinese(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	n := countLines(w)

	// Junk: a band of speckle where a detector might propose a line.
	junk := image.NewGray(image.Rect(0, 0, 400, 120))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range junk.Pix {
		junk.Pix[i] = uint8(90 + r.IntN(60))
	}
	for y := 45; y < 75; y++ {
		for x := 40; x < 360; x++ {
			if r.IntN(3) == 0 {
				junk.Pix[junk.PixOffset(x, y)] = uint8(r.IntN(40))
			}
		}
	}
	box := image.Rect(30, 40, 370, 80)
	count := func(e effort) int {
		n.reset()
		_, err := w.readCrop(junk, box, e)
		require.NoError(t, err)
		return n.eng.lines + n.chinese.lines + n.traditional.lines
	}
	nFull, nLight := count(full), count(light)
	t.Logf("junk: %d reads in full, %d light", nFull, nLight)
	require.LessOrEqual(t, nLight, 3, "light: an English try, then Chinese (and Traditional when it doubts)")
	require.Greater(t, nFull, nLight, "a full read of junk tries more")

	img := renderFrame(t, demoBG, demoCaption("古驰 高仿 包包 特价", cjk))
	var caption image.Rectangle
	for _, r := range lines.Detect(img, lines.DetectOptions{}) {
		if r.Min.Y > img.Rect.Dy()/2 {
			caption = r
		}
	}
	require.False(t, caption.Empty())
	n.reset()
	l, err := w.readCrop(img, caption, light)
	require.NoError(t, err)
	require.Contains(t, l.Text, "古驰高仿", "a Chinese caption read lightly")
	require.LessOrEqual(t, n.eng.lines+n.chinese.lines+n.traditional.lines, 3)
}
