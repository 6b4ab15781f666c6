package monitor

import (
	"context"
	"errors"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
)

// failingEngine fails every read with err.
type failingEngine struct {
	lines.Engine
	err error
}

func (f failingEngine) ReadLines(context.Context, *image.Gray, []lines.Crop) ([]lines.Reading, error) {
	return nil, f.err
}

// statuses collects a monitor's status changes.
type statuses struct {
	mu  sync.Mutex
	all []ingest.Status
}

func (s *statuses) add(st ingest.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, st)
}

func (s *statuses) last() ingest.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return ingest.Status{}
	}
	return s.all[len(s.all)-1]
}

func TestEndedSaysStoppedOrFailed(t *testing.T) {
	// A stream its caller stops ends with no error and the stop's cause
	// (published as reason "stopped: …"); one whose reading fails ends with
	// that failure, though decoding saw only its context cancelled.
	path := gen(t, clipgen.Clip{Name: "ended", DurationMS: 30000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI bag 1:1 replica", 0, 30000)}})
	errStop := errors.New("operator stop")
	errOCR := errors.New("ocr broke")
	tests := []struct {
		name    string
		engine  lines.Engine
		stop    bool
		reason  string
		wantErr error
	}{
		{name: "stopped with a cause", engine: sharedPool(t), stop: true, reason: "stopped: operator stop"},
		{name: "a stage failed", engine: failingEngine{Engine: sharedPool(t), err: errOCR}, wantErr: errOCR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got statuses
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Options{
					URL: path, StreamID: "ended", Rules: FixedRules(match.DefaultRules()), Engine: tc.engine,
					Sink: &collect{}, Metrics: NewMetrics(prometheus.NewRegistry()), Status: got.add,
					Ingest: ingest.Options{Realtime: true},
				})
			}()
			if tc.stop {
				require.Eventually(t, func() bool { return got.last().State == ingest.StateAttached },
					time.Minute, 10*time.Millisecond)
				cancel(errStop)
			}
			select {
			case err := <-done:
				if tc.stop {
					require.ErrorIs(t, err, context.Canceled)
				} else {
					require.ErrorIs(t, err, tc.wantErr)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
			end := got.last()
			require.Equal(t, ingest.StateEnded, end.State)
			st := NewStreamStatus("ended", end)
			if tc.wantErr != nil {
				require.ErrorIs(t, end.Err, tc.wantErr)
				require.NoError(t, end.Stopped)
				require.Empty(t, st.Reason)
				return
			}
			require.NoError(t, end.Err)
			require.ErrorIs(t, end.Stopped, errStop)
			require.Empty(t, st.Error)
			require.Equal(t, tc.reason, st.Reason)
		})
	}
}
