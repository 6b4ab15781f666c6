package ingest

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// statusLog collects the Status events of a supervised stream.
type statusLog struct {
	mu     sync.Mutex
	events []Status
}

func (l *statusLog) add(s Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

func (l *statusLog) all() []Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Status(nil), l.events...)
}

func (l *statusLog) states() []State {
	var out []State
	for _, e := range l.all() {
		out = append(out, e.State)
	}
	return out
}

// closedPort is a loopback address that refuses connections.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestSuperviseBackoffGrowsAndCaps(t *testing.T) {
	var log statusLog
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Supervise(ctx, "rtmp://user:secret@"+closedPort(t)+"/live/x", Options{Logger: quietLogger()},
		SuperviseOptions{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 160 * time.Millisecond, Status: log.add})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret")
	events := log.all()
	require.GreaterOrEqual(t, len(events), 7, "a refused host is retried until ctx ends")
	want := []time.Duration{20, 40, 80, 160, 160, 160}
	for i, base := range want {
		e := events[i]
		require.Equal(t, StateReconnecting, e.State)
		require.Equal(t, i+1, e.Attempt)
		base *= time.Millisecond
		require.GreaterOrEqual(t, e.Delay, base*8/10, "attempt %d", e.Attempt)
		require.LessOrEqual(t, e.Delay, base*12/10, "attempt %d", e.Attempt)
		require.Error(t, e.Err)
		require.NotContains(t, e.Err.Error(), "secret")
	}
}

func TestSupervisePermanentFirstOpenFails(t *testing.T) {
	tests := []struct {
		name string
		url  string
		is   error
	}{
		{"unsupported scheme", "gopher://example.invalid/x", ErrUnsupportedScheme},
		{"missing local file", "/nonexistent/clip.mp4", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log statusLog
			var err error
			within(t, 2*time.Second, func() {
				_, err = Supervise(context.Background(), tc.url, Options{Logger: quietLogger()},
					SuperviseOptions{InitialBackoff: 10 * time.Millisecond, Status: log.add})
			})
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.Empty(t, log.all(), "no retries for a permanent error")
		})
	}
}

func TestSuperviseSilentServerTimesOut(t *testing.T) {
	// A server that accepts and never sends: the open timeout fires within its bound,
	// and the supervisor retries.
	addr := testutil.StallListener(t)
	var log statusLog
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Supervise(ctx, "rtmp://"+addr+"/live/x", Options{Logger: quietLogger(), OpenTimeout: 400 * time.Millisecond},
		SuperviseOptions{InitialBackoff: 50 * time.Millisecond, Status: log.add})
	require.Error(t, err)
	events := log.all()
	require.NotEmpty(t, events)
	require.ErrorIs(t, events[0].Err, ErrTimeout)
	require.Less(t, events[0].At.Sub(start), time.Second)
}

func TestSuperviseStallReconnectKeepsMediaTimeMonotonic(t *testing.T) {
	// tsStream sends 4 s of video at once and then keeps the connection silent: the
	// watchdog must force a reconnect, after which the same 4 s come again and media
	// time goes on from where it was, plus the wall time of the gap.
	url := tsStream(t)
	var log statusLog
	s, err := Supervise(context.Background(), url, Options{Logger: quietLogger(), ReadTimeout: time.Minute},
		SuperviseOptions{InitialBackoff: 100 * time.Millisecond, StallTimeout: 400 * time.Millisecond, Status: log.add})
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ms []int64
	err = s.Run(ctx, func(f Frame) error {
		ms = append(ms, f.MediaMS)
		if len(ms) == 250 { // two and a half rounds of 100 frames
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	for i := 1; i < len(ms); i++ {
		require.GreaterOrEqual(t, ms[i], ms[i-1], "frame %d", i)
	}
	var gaps []Status
	for _, e := range log.all() {
		if e.State == StateGap {
			gaps = append(gaps, e)
		}
	}
	require.Len(t, gaps, 2, "states: %v", log.states())
	g := gaps[0].Gap
	// The frames the decoder still held at the stall are lost with the connection.
	require.InDelta(t, 99*40, g.FromMS, 200)
	// The gap lasts at least the stall (400 ms, less the frame the demuxer held
	// back and handed on only when the watchdog's interrupt ended the read) and
	// the backoff (≥ 80 ms with jitter).
	require.GreaterOrEqual(t, g.ToMS-g.FromMS, int64(400))
	require.InDelta(t, g.To.Sub(g.From).Milliseconds(), g.ToMS-g.FromMS, 50)
	i := slices.Index(ms, g.ToMS)
	require.Positive(t, i)
	require.Equal(t, g.FromMS, ms[i-1])
	states := log.states()
	require.Equal(t, []State{StateAttached, StateReconnecting, StateAttached, StateGap}, states[:4])
	require.Equal(t, StateEnded, states[len(states)-1])
}

func TestSuperviseFileEndsWithoutReconnect(t *testing.T) {
	var log statusLog
	s, err := Supervise(context.Background(), h264Clip(t), Options{Logger: quietLogger()},
		SuperviseOptions{Status: log.add})
	require.NoError(t, err)
	defer s.Close()
	n := 0
	require.NoError(t, s.Run(context.Background(), func(Frame) error { n++; return nil }))
	require.Equal(t, 75, n)
	require.Equal(t, []State{StateAttached, StateEnded}, log.states())
}

func TestSuperviseContinueFrom(t *testing.T) {
	// A live source taken over from an earlier watcher: media time goes on
	// from the earlier timeline plus the wall time since, reported as a gap.
	var log statusLog
	s, err := Supervise(context.Background(), tsStream(t), Options{Logger: quietLogger(), ReadTimeout: time.Minute},
		SuperviseOptions{Status: log.add})
	require.NoError(t, err)
	defer s.Close()
	require.True(t, s.Info().Live)
	from := time.Now().Add(-3 * time.Second)
	s.ContinueFrom(50000, from)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ms []int64
	err = s.Run(ctx, func(f Frame) error {
		if ms = append(ms, f.MediaMS); len(ms) == 10 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.GreaterOrEqual(t, ms[0], int64(53000))
	require.Less(t, ms[0], int64(53000)+time.Since(from).Milliseconds())
	require.Equal(t, int64(9*40), ms[9]-ms[0], "frames keep their spacing")
	var gaps []*Gap
	for _, e := range log.all() {
		if e.State == StateGap {
			gaps = append(gaps, e.Gap)
		}
	}
	require.Len(t, gaps, 1)
	require.Equal(t, int64(50000), gaps[0].FromMS)
	require.Equal(t, ms[0], gaps[0].ToMS)

	// A file is read again from 0: its media times, and so its alert ids,
	// come out as before.
	f, err := Supervise(context.Background(), h264Clip(t), Options{Logger: quietLogger()}, SuperviseOptions{})
	require.NoError(t, err)
	defer f.Close()
	f.ContinueFrom(50000, from)
	first := int64(-1)
	require.NoError(t, f.Run(context.Background(), func(fr Frame) error {
		if first < 0 {
			first = fr.MediaMS
		}
		return nil
	}))
	require.Zero(t, first)
}
