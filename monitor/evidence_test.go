package monitor

import (
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/match"
)

// TestEvidenceOfAnEarlierFrameIsStored: a brand shown alone, then a
// phrase alone within the rule's window — the alert's evidence holds the
// brand's line from a frame that matched no rule by itself, and its image is
// stored (only frames with a matched line are kept for evidence).
func TestEvidenceOfAnEarlierFrameIsStored(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "split-offer", DurationMS: 10000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI", 1000, 4000), caption("1:1 replica", 4000, 9000)}})
	dir := t.TempDir()
	sink := &collect{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, Run(ctx, Options{
		URL: path, StreamID: "test", Replay: true,
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
		Evidence: alerts.DirStore{Dir: dir},
	}))
	segs := sink.segments("counterfeit-offer")
	require.Len(t, segs, 1, "one offer segment")
	var brandLine *alerts.Evidence
	for _, r := range sink.rs {
		for i, e := range r.Evidence {
			if e.AtMS < 4000 {
				brandLine = &r.Evidence[i]
			}
		}
	}
	require.NotNil(t, brandLine, "the brand's line, from before the phrase, is evidence")
	require.NotEmpty(t, brandLine.Crop, "its image is stored")
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(brandLine.Crop)))
	require.NoError(t, err)
	defer f.Close()
	_, err = jpeg.Decode(f)
	require.NoError(t, err)
}
