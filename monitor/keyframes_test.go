package monitor

import (
	"context"
	"log/slog"
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

// showsSpy is the monitor's keyframe judge, noting what Shows answered for
// each frame it was asked about.
type showsSpy struct {
	*keyframes
	answers map[int64]bool
}

func (s *showsSpy) Shows(f ingest.Frame) bool {
	ok := s.keyframes.Shows(f)
	s.answers[f.MediaMS] = ok
	return ok
}

func TestKeyframesShowsWhatIsNewInTheFrameBefore(t *testing.T) {
	// Keyframes every 2 s. The first caption comes before the sample slot
	// before the keyframe at 4 s, the second after the one before 6 s.
	early := caption("GUCCI bag 1:1 replica", 2300, 8000)
	late := caption("LV AAA quality wallet", 5500, 8000)
	late.Y = "40"
	// A panned photograph under noise, as the bench clip (testsrc2 shows a
	// counter that is new at every keyframe).
	path := gen(t, clipgen.Clip{Name: "showsbefore", DurationMS: 8000, Background: "photo", Noise: 10,
		Captions: []clipgen.Caption{early, late}})
	for _, tc := range []struct {
		minHits int
		want    map[int64]bool
	}{
		// Asked about 5 s: the GOP 4 s opens was not decoded to 5 s after it
		// (3 s and 4 s both show the first caption), but again for 6 s.
		{minHits: 2, want: map[int64]bool{3000: true, 5000: false}},
		// Three sightings wanted: the GOP 4 s opens is decoded, to 5 s.
		{minHits: 3, want: map[int64]bool{3000: false}},
	} {
		spy := &showsSpy{keyframes: &keyframes{minHits: tc.minHits, log: slog.New(slog.DiscardHandler)}, answers: map[int64]bool{}}
		handed := decodeJudged(t, path, spy)
		require.Equal(t, tc.want, spy.answers, "min hits %d", tc.minHits)
		require.Contains(t, handed, int64(7000), "the GOP 6 s opens is decoded, for a second sighting at 7 s")
	}
}

// decodeJudged decodes path keyframes first, judged by j: the media times
// of the frames handed on.
func decodeJudged(t *testing.T, path string, j *showsSpy) []int64 {
	t.Helper()
	defer j.Close()
	src, err := ingest.Open(context.Background(), path, ingest.Options{Decode: ingest.DecodeAuto, Judge: j,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer func() { require.NoError(t, src.Close()) }()
	var handed []int64
	require.NoError(t, src.Run(context.Background(), func(f ingest.Frame) error {
		handed = append(handed, f.MediaMS)
		return nil
	}))
	return handed
}
