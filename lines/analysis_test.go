package lines

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/motion"
)

// TestStartWithTakesTheAnalysis: the reader takes an analysis made with its
// detector options instead of detecting again (the lines it reads are the
// analysis's, even where the picture no longer shows them), and works the
// picture out itself when the analysis was made with other options.
func TestStartWithTakesTheAnalysis(t *testing.T) {
	img := captionFrame(t)
	an := Analyse(img, DetectOptions{})
	require.Len(t, an.Boxes(), 1, "the caption frame has one line")
	require.Equal(t, Detect(img, DetectOptions{}), an.Boxes())
	require.Equal(t, motion.Of(img), an.Profile())
	require.Same(t, img, an.Image())
	clear(img.Pix) // what the reader detects now: nothing

	start := func(a *Analysis) []Line {
		eng := &fakeEngine{size: 1, confidence: []float64{90}}
		r, err := NewReader(Options{Engine: eng})
		require.NoError(t, err)
		defer r.Close()
		p, err := r.StartWith(context.Background(), a)
		require.NoError(t, err)
		ls, err := p.Wait()
		require.NoError(t, err)
		return ls
	}
	got := start(an)
	require.Len(t, got, 1, "the analysis's line is read")
	require.Equal(t, an.Boxes()[0], got[0].Box)

	other := Analyse(captionFrame(t), DetectOptions{MinHeight: 12})
	other.img = img // the blank picture, analysed with other options than the reader's
	require.Empty(t, start(other), "an analysis with other options is not taken: the picture is looked at")
}
