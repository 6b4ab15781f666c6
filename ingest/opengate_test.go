package ingest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slowSource is a live source whose packets keep coming while frames come
// out of it only every frameEvery (a decoder starved of CPU, or one that
// decodes keyframes only): packets every 20 ms, until packetsFor has passed.
type slowSource struct {
	frameEvery, packetsFor time.Duration
	packets                atomic.Int64
}

func (s *slowSource) Info() Info     { return Info{Live: true, Width: 16, Height: 16} }
func (s *slowSource) Close() error   { return nil }
func (s *slowSource) Packets() int64 { return s.packets.Load() }

func (s *slowSource) Run(ctx context.Context, handle func(Frame) error) error {
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastFrame := start
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			if now.Sub(start) < s.packetsFor {
				s.packets.Add(1)
			}
			if now.Sub(lastFrame) >= s.frameEvery && now.Sub(start) < s.packetsFor {
				lastFrame = now
				if err := handle(Frame{MediaMS: now.Sub(start).Milliseconds(), Wall: now}); err != nil {
					return err
				}
			}
		}
	}
}

// TestWatchdogTellsASlowSourceFromADeadOne: frames 600 ms apart with a stall
// timeout of 400 ms, but packets arrive all along: the source is alive and
// is not reconnected. Once its packets stop, it is.
func TestWatchdogTellsASlowSourceFromADeadOne(t *testing.T) {
	src := &slowSource{frameEvery: 600 * time.Millisecond, packetsFor: 3500 * time.Millisecond}
	reconnecting := make(chan time.Time, 8)
	s, err := Supervise(context.Background(), "rtmp://127.0.0.1:1/live/slow", Options{Logger: quietLogger()},
		SuperviseOptions{InitialBackoff: 50 * time.Millisecond, StallTimeout: 400 * time.Millisecond,
			Status: func(st Status) {
				if st.State == StateReconnecting {
					reconnecting <- st.At
				}
			},
			Open: func(context.Context, string, Options) (Stream, error) { return src, nil }})
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var frames atomic.Int64
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(Frame) error { frames.Add(1); return nil }) }()
	at := <-reconnecting
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.GreaterOrEqual(t, at.Sub(start), 3500*time.Millisecond, "not reconnected while packets came in")
	require.Less(t, at.Sub(start), 3500*time.Millisecond+time.Second, "reconnected once they stopped")
	require.GreaterOrEqual(t, frames.Load(), int64(5))
}

// TestOpenGateAdmitsOpensInTurn: with a gate of one, opens never overlap.
func TestOpenGateAdmitsOpensInTurn(t *testing.T) {
	gate := NewOpenGate(1)
	var inside, most atomic.Int64
	open := func(context.Context, string, Options) (Stream, error) {
		n := inside.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // the open's work
		inside.Add(-1)
		return &slowSource{frameEvery: time.Hour}, nil
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Supervise(context.Background(), "rtmp://127.0.0.1:1/live/x", Options{Logger: quietLogger()},
				SuperviseOptions{Open: open, Opens: gate})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, int64(1), most.Load())
}
