package ocr

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

// initialised returns the languages of w's clients that are initialised.
func initialised(w *worker) []string {
	var out []string
	for _, c := range []struct {
		name string
		c    tesseract
	}{{"all", w.all}, {"eng", w.eng}, {"chi_sim", w.chinese}, {"chi_tra", w.traditional}} {
		if c.c != nil && w.inited[c.c] {
			out = append(out, c.name)
		}
	}
	return out
}

// TestClientsInitialiseOnFirstRead: a worker initialises no client until a
// line is read, and then only the models the line needs: a clean English
// caption is read by the English model alone; a Chinese one needs the
// Simplified model too (and the Traditional one where it doubts a
// character). warm initialises the English and Simplified ones.
func TestClientsInitialiseOnFirstRead(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	require.Empty(t, initialised(w), "no client before the first read")

	img := render(t, 640, 360, "GUCCI bag 1:1 replica", sans, 40, 240)
	got, err := w.read(img, []image.Rectangle{caption(t, img)}, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "GUCCI bag 1:1 replica", got[0].Text)
	require.Equal(t, []string{"eng"}, initialised(w))

	zh := render(t, 640, 360, "古驰 高仿 包包", cjk, 40, 240)
	got, err = w.read(zh, []image.Rectangle{caption(t, zh)}, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Text, "高仿")
	require.Subset(t, initialised(w), []string{"eng", "chi_sim"})
	require.NotContains(t, initialised(w), "all", "the mixed-language client reads whole frames only")

	cold, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, cold)
	cold.warm()
	require.Equal(t, []string{"eng", "chi_sim"}, initialised(cold))
}
