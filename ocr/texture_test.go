package ocr

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	swtest "github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
)

// TestBusyBackgroundIsReadQuickly reads, a frame a second, a generated game
// of life with an offer on a translucent box from 8 to 12 s, through a
// lines.Reader over Tesseract: the detector proposes "lines" in the texture
// on every frame and they read as junk every time, so after their first
// reads most are read quickly (first try only), while the offer is read on
// every frame that shows it.
func TestBusyBackgroundIsReadQuickly(t *testing.T) {
	clip := swtest.Generate(t, clipgen.Clip{
		Name: "busy-life-quick", DurationMS: 16000, FPS: 15,
		Background: "life=mold=10:seed=7:life_color=0x66ccff:death_color=0x101820",
		Captions: []clipgen.Caption{{Text: "Gucci Jackie bag replica", StartMS: 8000, EndMS: 12000, Size: 44,
			Box: "black@0.6", Brand: "gucci", Phrase: "replica", Counterfeit: true}},
	})
	dir := t.TempDir()
	// Frames at 0.5, 1.5 … 15.5 s: inside the offer's seconds, clear of its edges.
	swtest.FFmpeg(t, "-i", clip, "-vf", "fps=1:start_time=0,format=gray", filepath.Join(dir, "%02d.png"))

	pool, err := NewPool(Options{Size: 2})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	read := prometheus.NewCounter(prometheus.CounterOpts{Name: "read"})
	quick := prometheus.NewCounter(prometheus.CounterOpts{Name: "quick"})
	r, err := lines.NewReader(lines.Options{Engine: pool, Metrics: lines.Metrics{Read: read, Quick: quick}})
	require.NoError(t, err)
	defer r.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pending []*lines.Pending
	for i := 1; i <= 16; i++ {
		p, err := r.Start(ctx, swtest.LoadGray(t, filepath.Join(dir, fmt.Sprintf("%02d.png", i))))
		require.NoError(t, err)
		pending = append(pending, p)
	}
	var offerAt []int
	for i, p := range pending {
		ls, err := p.Wait()
		require.NoError(t, err)
		for _, l := range ls {
			if strings.Contains(strings.ToLower(l.Text), "replica") {
				offerAt = append(offerAt, i)
				break
			}
		}
	}
	require.Equal(t, []int{8, 9, 10, 11}, offerAt, "frames (seconds) at which the offer was read")
	n, q := testutil.ToFloat64(read), testutil.ToFloat64(quick)
	t.Logf("lines read %.0f, of them quickly %.0f", n, q)
	require.Positive(t, n)
	require.GreaterOrEqual(t, q, n/3, "the texture's lines are read quickly once known")
}
