package monitor

import (
	"context"
	"image"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
)

// slowEngine is an engine of one client (one read at a time, shared by
// every stream that uses it) whose reads take delay longer, and perLine
// longer for each line: a loaded machine, or an expensive engine.
type slowEngine struct {
	lines.Engine
	delay, perLine time.Duration

	mu    sync.Mutex
	calls int
	lines int
}

func (e *slowEngine) Size() int { return 1 }

func (e *slowEngine) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.lines += len(crops)
	t := time.NewTimer(e.delay + time.Duration(len(crops))*e.perLine)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.Engine.ReadLines(ctx, img, crops)
}

// marquee is a caption that scrolls in from the right: its pixels change on
// every frame, so every frame has a line to read.
func marquee(text string, startMS, endMS int64, y string) clipgen.Caption {
	return clipgen.Caption{Text: text, StartMS: startMS, EndMS: endMS, Size: 40, Box: "black@0.6",
		ScrollPxPerS: 40, Y: y}
}

// TestSlowReadingKeepsOneSegment: reading a frame takes 4.5 s, so live
// frames are dropped and the frames read are further apart than --gap; the
// caption on screen all along is still one segment, not one per frame read.
func TestSlowReadingKeepsOneSegment(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "slow", Width: 640, Height: 480, DurationMS: 24000, Background: "smptebars",
		Captions: []clipgen.Caption{
			{Text: "GUCCI bag 1:1 replica", StartMS: 1000, EndMS: 21000, Size: 40, Box: "black@0.6", Y: "40"},
			marquee("new arrivals every day", 0, 24000, "h*0.75"),
		}})
	engine := &slowEngine{Engine: sharedPool(t), delay: 4500 * time.Millisecond}
	sink := &collect{}
	metrics := NewMetrics(prometheus.NewRegistry())
	err := Run(context.Background(), Options{
		URL: path, StreamID: "slow", Ingest: ingest.Options{Realtime: true},
		Rules: FixedRules(match.DefaultRules()), Engine: engine, Sink: sink, Metrics: metrics,
	})
	require.NoError(t, err)
	require.Positive(t, testutil.ToFloat64(metrics.FramesDropped), "frames dropped: reading was slower than sampling")
	segs := sink.segments("counterfeit-offer")
	require.Len(t, segs, 1, "records: %+v", sink.rs)
	require.InDelta(t, 1000, segs[0].StartMS, 5500)
	require.InDelta(t, 21000, segs[0].EndMS, 5500)
	opens := 0
	for _, r := range sink.rs {
		if r.State == "open" {
			opens++
		}
	}
	require.Equal(t, 1, opens, "records: %+v", sink.rs)
}

// TestSchedulerKeepsAPlainStreamTimely: two live streams share one slow
// engine; one has a busy background (many lines in every frame), the other a
// single caption. The scheduler reads a few lines per turn and alternates, so
// the plain stream's frames are read soon after they were decoded, however
// many lines the busy one's frames hold.
func TestSchedulerKeepsAPlainStreamTimely(t *testing.T) {
	// A frame full of moving text: every line is read again on every frame.
	var rows []clipgen.Caption
	for i := range 10 {
		rows = append(rows, marquee("new arrivals every day", 0, 15000, strconv.Itoa(20+44*i)))
	}
	busy := gen(t, clipgen.Clip{Name: "busy", Width: 640, Height: 480, DurationMS: 15000, Background: "cellauto",
		Captions: rows})
	plain := gen(t, clipgen.Clip{Name: "plain", Width: 640, Height: 480, DurationMS: 15000, Background: "smptebars",
		Captions: []clipgen.Caption{marquee("GUCCI bag 1:1 replica", 0, 15000, "h*0.75")}})
	engine := &slowEngine{Engine: sharedPool(t), perLine: 200 * time.Millisecond}
	// The plain stream asks for a line every 2 s: on a loaded machine (an
	// engine's line taking L ≈ 0.5 s, not 0.2) a frame every second, each
	// waiting a turn of the busy stream and its own (≈ 3 L), keeps both of
	// its frames in flight and falls behind by itself; at 2 s its lag is
	// the scheduler's doing only, and a scheduler that made it wait for the
	// busy stream's whole frames (10 lines) would still fail the test.
	const plainInterval = 2 * time.Second
	sched := lines.NewScheduler(engine, lines.SchedulerOptions{LinesPerTurn: schedulerTestLinesPerTurn})
	defer sched.Close()
	metrics := NewMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	sinks := []*collect{{}, {}}
	for i, path := range []string{busy, plain} {
		wg.Go(func() {
			errs[i] = Run(ctx, Options{URL: path, StreamID: []string{"busy", "plain"}[i], Ingest: ingest.Options{Realtime: true},
				SampleInterval: []time.Duration{time.Second, plainInterval}[i],
				Rules:          FixedRules(match.DefaultRules()), Scheduler: sched, Sink: sinks[i], Metrics: metrics})
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	worst, last := map[string]float64{}, map[string]float64{}
	seen := map[string][]float64{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			for _, l := range metrics.Loads() {
				if l.Lag != last[l.StreamID] {
					last[l.StreamID] = l.Lag
					seen[l.StreamID] = append(seen[l.StreamID], l.Lag)
					worst[l.StreamID] = max(worst[l.StreamID], l.Lag)
				}
			}
		}
	}
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	engine.mu.Lock()
	t.Logf("engine: %d lines in %d reads; lags of the plain stream %.2f, of the busy one %.2f",
		engine.lines, engine.calls, seen["plain"], seen["busy"])
	engine.mu.Unlock()
	// The busy stream's frames take several turns each; the plain one's
	// one, after at most a turn of the busy one.
	require.Positive(t, worst["plain"])
	require.Less(t, worst["plain"], worst["busy"]/2, "the plain stream waits for a turn of the busy one, not for its whole frames")
	require.Len(t, sinks[1].segments("counterfeit-offer"), 1, "records: %+v", sinks[1].rs)
}

const schedulerTestLinesPerTurn = 2
