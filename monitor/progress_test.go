package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/match"
)

// TestProgressFollowsMediaTime replays a 4 s clip: Progress is told each
// sampled frame, in media-time order, with the clip's duration and no
// unwatched time.
func TestProgressFollowsMediaTime(t *testing.T) {
	clip := gen(t, clipgen.Clip{Name: "progress", DurationMS: 4000, Captions: []clipgen.Caption{caption("Live sale tonight", 0, 4000)}})
	var got []Progress // Progress runs in the match stage alone: no lock needed until Run returns
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Run(ctx, Options{
		URL: clip, StreamID: "progress", Replay: true,
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: &collect{}, Metrics: NewMetrics(prometheus.NewRegistry()),
		Progress: func(p Progress) { got = append(got, p) },
	})
	require.NoError(t, err)
	require.Len(t, got, 4, "one per sampled frame (1 s apart)")
	for i, p := range got {
		require.Equal(t, int64(i)*1000, p.MediaMS)
		require.InDelta(t, 4*time.Second, p.Duration, float64(50*time.Millisecond))
		require.True(t, p.Unwatched.Empty(), "a replay watches everything: %+v", p.Unwatched)
	}
}
