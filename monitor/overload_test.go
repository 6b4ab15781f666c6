package monitor

import (
	"context"
	"image"
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
