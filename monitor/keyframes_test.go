package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/match"
)

// replayDecoding replays path decoding as mode says: its records and the
// frames decoded.
func replayDecoding(t *testing.T, path string, mode ingest.DecodeMode) (*collect, int) {
	t.Helper()
	sink := &collect{}
	metrics := NewMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := Run(ctx, Options{
		URL: path, StreamID: "test", Replay: true, Ingest: ingest.Options{Decode: mode},
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: sink, Metrics: metrics,
	})
	require.NoError(t, err)
	return sink, int(promtest.ToFloat64(metrics.FramesDecoded))
}

// closedSegments are the closed records of every rule, in order.
func closedSegments(c *collect) []alerts.Record {
	var out []alerts.Record
	for _, r := range c.rs {
		if r.State == alerts.StateClosed {
			out = append(out, r)
		}
	}
	return out
}

func TestAutoDecodingTimesSegmentsAsEveryFrame(t *testing.T) {
	// Keyframes every 2 s; the captions come and go between them.
	path := gen(t, clipgen.Clip{Name: "midgop", DurationMS: 14000, Background: "testsrc2",
		Captions: []clipgen.Caption{
			caption("GUCCI bag 1:1 replica", 2300, 6700),
			caption("LV AAA quality wallet", 8500, 12300),
		}})
	all, decodedAll := replayDecoding(t, path, ingest.DecodeAll)
	auto, decodedAuto := replayDecoding(t, path, ingest.DecodeAuto)
	want, got := closedSegments(all), closedSegments(auto)
	require.Len(t, want, 2)
	require.Len(t, got, len(want))
	for i := range want {
		require.InDelta(t, want[i].StartMS, got[i].StartMS, 1000, "segment %d starts within a sample", i)
		require.InDelta(t, want[i].EndMS, got[i].EndMS, 1000, "segment %d ends within a sample", i)
		require.Equal(t, want[i].Rule, got[i].Rule)
		require.Equal(t, want[i].Brands, got[i].Brands)
		require.Equal(t, want[i].Phrases, got[i].Phrases)
	}
	require.Less(t, decodedAuto, decodedAll*2/3, "auto decoded %d of %d frames", decodedAuto, decodedAll)
}

func TestAutoDecodingSkipsAStaticStream(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "still", DurationMS: 20000,
		Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 0, 20000)}})
	all, decodedAll := replayDecoding(t, path, ingest.DecodeAll)
	auto, decodedAuto := replayDecoding(t, path, ingest.DecodeAuto)
	require.Equal(t, 500, decodedAll)
	// Ten keyframes, the first second after the first one and the last.
	require.Less(t, decodedAuto, decodedAll/5, "auto decoded %d of %d frames", decodedAuto, decodedAll)
	want, got := closedSegments(all), closedSegments(auto)
	require.Len(t, got, len(want))
	require.Len(t, want, 1)
	require.Equal(t, want[0].StartMS, got[0].StartMS)
	require.InDelta(t, want[0].EndMS, got[0].EndMS, 1000)
}

func TestAutoDecodingReplayIsDeterministic(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "det", DurationMS: 10000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("LV AAA quality wallet", 1300, 6500)}})
	a, na := replayDecoding(t, path, ingest.DecodeAuto)
	b, nb := replayDecoding(t, path, ingest.DecodeAuto)
	require.NotEmpty(t, a.rs)
	require.Equal(t, a.rs, b.rs)
	require.Equal(t, na, nb, "the same frames decoded")
}
