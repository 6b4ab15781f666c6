package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/ocr"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pool != nil {
		pool.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// collect is a Sink that keeps every record.
type collect struct {
	mu sync.Mutex
	rs []alerts.Record
}

func (c *collect) Publish(_ context.Context, r alerts.Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := alerts.ValidateRecordJSON(data); err != nil {
		panic(fmt.Sprintf("record does not validate against the schema: %v\n%s", err, data))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rs = append(c.rs, r)
	return nil
}

// segments returns the closed records of rule: one per segment.
func (c *collect) segments(rule string) []alerts.Record {
	var out []alerts.Record
	for _, r := range c.rs {
		if r.Rule == rule && r.State == alerts.StateClosed {
			out = append(out, r)
		}
	}
	return out
}

var (
	poolOnce sync.Once
	pool     *ocr.Pool
	poolErr  error
)

// sharedPool is one OCR pool for the package's tests, as in a process.
func sharedPool(t *testing.T) *ocr.Pool {
	poolOnce.Do(func() { pool, poolErr = ocr.NewPool(ocr.Options{Size: 2}) })
	require.NoError(t, poolErr)
	return pool
}

func gen(t *testing.T, c clipgen.Clip) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), c.Name+".mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := clipgen.Generate(ctx, c, out)
	require.NoError(t, err)
	return out
}

func replay(t *testing.T, path, channel string) *collect {
	t.Helper()
	sink := &collect{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := Run(ctx, Options{
		URL: path, StreamID: "test", Channel: channel, Replay: true,
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
	})
	require.NoError(t, err)
	return sink
}

func caption(text string, startMS, endMS int64) clipgen.Caption {
	return clipgen.Caption{Text: text, StartMS: startMS, EndMS: endMS, Size: 48, Box: "black@0.6"}
}

func TestReplayFindsCounterfeitSegments(t *testing.T) {
	tests := []struct {
		name     string
		clip     clipgen.Clip
		channel  string
		wantSegs [][2]int64 // counterfeit-offer segments: caption start and end
		brand    string
		phrase   string
	}{
		{
			name: "brand and phrase in one caption",
			clip: clipgen.Clip{Name: "offer", DurationMS: 12000, Background: "testsrc2",
				Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 3000, 8000)}},
			wantSegs: [][2]int64{{3000, 8000}},
			brand:    "gucci", phrase: "replica",
		},
		{
			name: "chinese caption",
			clip: clipgen.Clip{Name: "chinese", DurationMS: 10000, Background: "smptebars",
				Captions: []clipgen.Caption{caption("古驰 高仿 包包 特价", 2000, 7000)}},
			wantSegs: [][2]int64{{2000, 7000}},
			brand:    "gucci", phrase: "replica",
		},
		{
			name: "brand alone raises nothing",
			clip: clipgen.Clip{Name: "brand-alone", DurationMS: 9000, Background: "testsrc2",
				Captions: []clipgen.Caption{caption("GUCCI bags new season", 2000, 7000)}},
		},
		{
			name: "brand on its authorized channel raises nothing",
			clip: clipgen.Clip{Name: "authorized", DurationMS: 9000, Background: "testsrc2",
				Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 2000, 7000)}},
			channel: "test-authorized",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := gen(t, tc.clip)
			rules := match.DefaultRules()
			if tc.channel != "" {
				for i := range rules.Brands {
					if rules.Brands[i].ID == "gucci" {
						rules.Brands[i].AuthorizedChannels = []string{tc.channel}
					}
				}
			}
			sink := replayWith(t, path, tc.channel, rules)
			segs := sink.segments("counterfeit-offer")
			require.Len(t, segs, len(tc.wantSegs), "records: %+v", sink.rs)
			for i, want := range tc.wantSegs {
				require.InDelta(t, want[0], segs[i].StartMS, 1500, "start")
				require.InDelta(t, want[1], segs[i].EndMS, 1500, "end")
				require.Contains(t, segs[i].Brands, tc.brand)
				require.Contains(t, segs[i].Phrases, tc.phrase)
				require.NotEmpty(t, segs[i].Evidence)
			}
		})
	}
}

func replayWith(t *testing.T, path, channel string, rules *match.Rules) *collect {
	t.Helper()
	sink := &collect{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := Run(ctx, Options{
		URL: path, StreamID: "test", Channel: channel, Replay: true,
		Rules: FixedRules(rules), Engine: sharedPool(t),
		Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
	})
	require.NoError(t, err)
	return sink
}

func TestReplayIsDeterministic(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "det", DurationMS: 8000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("LV AAA quality wallet", 1000, 6000)}})
	a := replay(t, path, "")
	b := replay(t, path, "")
	require.NotEmpty(t, a.rs)
	require.Equal(t, a.rs, b.rs)
}

func TestRunRefusesBadStreamID(t *testing.T) {
	err := Run(context.Background(), Options{URL: "x.mp4", StreamID: "a.b"})
	require.ErrorIs(t, err, alerts.ErrStreamID)
}

func TestCancelStopsAndClosesSegments(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "long", DurationMS: 30000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 0, 30000)}})
	sink := &collect{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			// Paced, as a live source: unpaced, a loaded machine decodes the
			// file to its end before the first record.
			URL: path, StreamID: "live", Ingest: ingest.Options{Realtime: true},
			Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
			Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
		})
	}()
	require.Eventually(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.rs) > 0
	}, time.Minute, 50*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	last := sink.rs[len(sink.rs)-1]
	require.Equal(t, alerts.StateClosed, last.State)
}

func TestHandoffLeavesSegmentsOpen(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "handoff", DurationMS: 30000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 0, 30000)}})
	errHandoff := fmt.Errorf("handed over")
	sink := &collect{}
	resumed := 0
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			URL: path, StreamID: "live", Ingest: ingest.Options{Realtime: true},
			Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
			Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
			Handoff: errHandoff,
			// A file is no live source: nothing of an earlier watch is resumed.
			Resume: func(context.Context) (alerts.Resume, error) { resumed++; return alerts.Resume{}, nil },
		})
	}()
	require.Eventually(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.rs) > 0
	}, time.Minute, 50*time.Millisecond)
	cancel(errHandoff)
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, r := range sink.rs {
		require.NotEqual(t, alerts.StateClosed, r.State, "a handed-over segment is left open for the next watcher")
	}
	require.Zero(t, resumed)
}

func TestFailedFirstOpenReportsEnded(t *testing.T) {
	var got []ingest.Status
	err := Run(context.Background(), Options{
		URL: filepath.Join(t.TempDir(), "missing.mp4"), StreamID: "gone", Rules: FixedRules(match.DefaultRules()),
		Engine: sharedPool(t), Sink: &collect{}, Metrics: NewMetrics(prometheus.NewRegistry()),
		Status: func(st ingest.Status) { got = append(got, st) },
	})
	require.Error(t, err)
	require.Len(t, got, 1)
	require.Equal(t, ingest.StateEnded, got[0].State)
	require.ErrorIs(t, got[0].Err, err)
}

// countingEngine counts the lines handed to OCR.
type countingEngine struct {
	lines.Engine
	mu    sync.Mutex
	lines int
	calls int
}

func (c *countingEngine) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	c.mu.Lock()
	c.calls++
	c.lines += len(crops)
	c.mu.Unlock()
	return c.Engine.ReadLines(ctx, img, crops)
}

// TestChangeGateReadsAStaticCaptionOnce: a caption that stays up unchanged is
// read once per appearance, and its text still counts on every frame.
func TestChangeGateReadsAStaticCaptionOnce(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "static", DurationMS: 15000, Background: "smptebars",
		Captions: []clipgen.Caption{
			caption("GUCCI bag 1:1 replica", 1000, 6000),
			caption("GUCCI bag 1:1 replica", 10000, 15000), // the same text, a second appearance
		}})
	reader := &countingEngine{Engine: sharedPool(t)}
	sink := &collect{}
	metrics := NewMetrics(prometheus.NewRegistry())
	err := Run(context.Background(), Options{
		URL: path, StreamID: "static", Replay: true, Rules: FixedRules(match.DefaultRules()),
		Engine: reader, Sink: sink, Metrics: metrics,
	})
	require.NoError(t, err)
	require.LessOrEqual(t, reader.lines, 2, "lines read: %d in %d calls", reader.lines, reader.calls)
	require.Equal(t, 15.0, testutil.ToFloat64(metrics.FramesSampled))
	require.GreaterOrEqual(t, testutil.ToFloat64(metrics.LinesReused), 6.0)
	segs := sink.segments("counterfeit-offer")
	require.Len(t, segs, 2)
	require.InDelta(t, 1000, segs[0].StartMS, 1500)
	require.InDelta(t, 6000, segs[0].EndMS, 1500)
	require.InDelta(t, 10000, segs[1].StartMS, 1500)
	require.InDelta(t, 15000, segs[1].EndMS, 1500)
}

// TestStreamSeriesDeletedAtEnd: the per-stream series go when the stream's
// Run ends, so a long-running worker does not keep one per stream it ever
// watched; other streams' series stay.
func TestStreamSeriesDeletedAtEnd(t *testing.T) {
	metrics := NewMetrics(prometheus.NewRegistry())
	now := time.Now()
	for _, id := range []string{"gone", "other"} {
		metrics.watch(id)
		for _, st := range []ingest.Status{
			{State: ingest.StateAttached, At: now},
			{State: ingest.StateReconnecting, At: now},
			{State: ingest.StateGap, At: now, Gap: &ingest.Gap{From: now.Add(-time.Second), To: now}},
		} {
			metrics.observeStatus(id, st)
		}
	}
	vecs := []prometheus.Collector{metrics.StreamUp, metrics.Reconnects, metrics.Gaps, metrics.Unmonitored}
	for _, v := range vecs {
		require.Equal(t, 2, testutil.CollectAndCount(v))
	}
	err := Run(context.Background(), Options{
		URL: filepath.Join(t.TempDir(), "missing.mp4"), StreamID: "gone", Rules: FixedRules(match.DefaultRules()),
		Engine: sharedPool(t), Sink: &collect{}, Metrics: metrics,
	})
	require.Error(t, err)
	for _, v := range vecs {
		require.Equal(t, 1, testutil.CollectAndCount(v), "only the other stream's series are left")
	}
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Reconnects.WithLabelValues("other")))
}

func TestNewConfigLeavesOptionsAlone(t *testing.T) {
	metrics := NewMetrics(prometheus.NewRegistry())
	o := Options{URL: "x.mp4", StreamID: "s1", Channel: "ch", Replay: true, Rules: FixedRules(match.DefaultRules()),
		Engine: sharedPool(t), Sink: &collect{}, Metrics: metrics,
		Tracker: alerts.TrackerOptions{StreamID: "other", MinHits: 3}}
	c, err := newConfig(o)
	require.NoError(t, err)
	require.True(t, c.ingest.MediaClock)
	require.Equal(t, metrics.FramesDecoded, c.ingest.FramesDecoded)
	require.Equal(t, "s1", c.tracker.StreamID)
	require.Equal(t, "ch", c.tracker.Channel)
	require.Equal(t, 3, c.tracker.MinHits)
	require.Equal(t, "other", c.Tracker.StreamID, "the caller's options are copied, not rewritten")
	require.Nil(t, c.Ingest.FramesDecoded)
	require.False(t, c.Ingest.MediaClock)

	_, err = newConfig(Options{StreamID: "s1"})
	require.ErrorIs(t, err, ErrOptions)
}

// gaugeSink notes, at each record, the open-segments gauge as a client
// asking the metrics after receiving that record would find it.
type gaugeSink struct {
	metrics *Metrics
	seen    []float64
	states  []alerts.State
}

func (g *gaugeSink) Publish(_ context.Context, r alerts.Record) error {
	g.seen = append(g.seen, testutil.ToFloat64(g.metrics.Alerts.OpenSegments))
	g.states = append(g.states, r.State)
	return nil
}

func TestOpenSegmentsGaugeLeadsTheRecords(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "gauge", DurationMS: 6000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 1000, 4000)}})
	metrics := NewMetrics(prometheus.NewRegistry())
	sink := &gaugeSink{metrics: metrics}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, Run(ctx, Options{
		URL: path, StreamID: "test", Replay: true,
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: sink, Metrics: metrics,
	}))
	require.Contains(t, sink.states, alerts.StateOpen)
	require.Contains(t, sink.states, alerts.StateClosed)
	for i, s := range sink.states {
		switch s {
		case alerts.StateOpen:
			require.Equal(t, 1.0, sink.seen[i], "an open record goes out with its segment counted")
		case alerts.StateClosed:
			require.Equal(t, 0.0, sink.seen[i], "a closed record goes out with its segment no longer counted")
		}
	}
	require.Equal(t, 0.0, testutil.ToFloat64(metrics.Alerts.OpenSegments))
}
