package lines

import (
	"context"
	"image"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
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

// lightEngine records whether the crops it was given were to be read lightly.
type lightEngine struct {
	fakeEngine
	light []bool
}

func (e *lightEngine) ReadLines(ctx context.Context, img *image.Gray, crops []Crop) ([]Reading, error) {
	for _, c := range crops {
		e.light = append(e.light, c.Light)
	}
	return e.fakeEngine.ReadLines(ctx, img, crops)
}

// TestBehindReadsNewLinesLightly: while Behind says the engine is behind, a
// frame's new lines go to it marked Light (and counted); otherwise not.
func TestBehindReadsNewLinesLightly(t *testing.T) {
	for _, behind := range []bool{false, true} {
		eng := &lightEngine{fakeEngine: fakeEngine{size: 1, confidence: []float64{90}}}
		light := prometheus.NewCounter(prometheus.CounterOpts{Name: "light", Help: "light"})
		r, err := NewReader(Options{Engine: eng, Behind: func() bool { return behind }, Metrics: Metrics{Light: light}})
		require.NoError(t, err)
		readFrame(t, r, captionFrame(t))
		r.Close()
		require.Equal(t, []bool{behind}, eng.light)
		want := 0.0
		if behind {
			want = 1
		}
		require.Equal(t, want, promtest.ToFloat64(light))
	}
}
