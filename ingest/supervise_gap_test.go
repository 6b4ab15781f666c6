package ingest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// liveTSServer serves live MPEG-TS over HTTP: each request gets the output
// of an `ffmpeg -re` encoder, secs seconds of it (then the connection is
// kept open, silent, until the client leaves), written as it comes. It
// returns the URL and a function that gives, per request, when the encoder's
// last bytes were written (zero while it still writes).
func liveTSServer(t *testing.T, secs int) (url string, silentSince func(req int) time.Time) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed (make deps installs it)")
	}
	var (
		mu    sync.Mutex
		ended []time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		req := len(ended)
		ended = append(ended, time.Time{})
		mu.Unlock()
		cmd := exec.CommandContext(r.Context(), "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
			"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", strconv.Itoa(secs),
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
			"-flush_packets", "1", "-f", "mpegts", "pipe:1")
		out, err := cmd.StdoutPipe()
		if err != nil || cmd.Start() != nil {
			http.Error(w, "ffmpeg did not start", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "video/mp2t")
		_, _ = io.Copy(flushWriter{w}, out) // the client may leave at any time
		_ = cmd.Wait()                      // killed when the client leaves: nothing to report
		mu.Lock()
		ended[req] = time.Now()
		mu.Unlock()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/live.ts", func(req int) time.Time {
		mu.Lock()
		defer mu.Unlock()
		if req >= len(ended) {
			return time.Time{}
		}
		return ended[req]
	}
}

// flushWriter flushes every write to the client at once, as a live server does.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.w.(http.Flusher).Flush()
	return n, err
}

func TestSuperviseGapSpansTheSilence(t *testing.T) {
	// A live source sends 3 s of video in real time and then keeps the
	// connection open without a byte. Whichever watchdog ends the silence (the
	// supervisor's stall timeout or the source's read timeout), the gap runs
	// from the last frame before the silence to the first frame after the
	// reconnect, and media time goes on by the wall-clock time that passed.
	const timeout = 2 * time.Second
	tests := []struct {
		name         string
		stall, read  time.Duration
		wantCausedBy error
	}{
		{"stall timeout", timeout, time.Minute, ErrStalled},
		{"read timeout", time.Minute, timeout, ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, silentSince := liveTSServer(t, 3)
			var log statusLog
			s, err := Supervise(context.Background(), url, Options{Logger: quietLogger(), ReadTimeout: tc.read},
				SuperviseOptions{InitialBackoff: 100 * time.Millisecond, StallTimeout: tc.stall, Status: log.add})
			require.NoError(t, err)
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			type seen struct {
				ms   int64
				wall time.Time // when the frame was handed on
			}
			var frames []seen
			after := -1 // index of the first frame after the reconnect
			err = s.Run(ctx, func(f Frame) error {
				frames = append(frames, seen{f.MediaMS, time.Now()})
				if after < 0 && len(gapsOf(log.all())) > 0 {
					after = len(frames) - 1
				}
				if after >= 0 && len(frames) == after+10 {
					cancel()
				}
				return nil
			})
			require.ErrorIs(t, err, context.Canceled)
			require.Positive(t, after, "states: %v", log.states())
			gaps := gapsOf(log.all())
			require.Len(t, gaps, 1)
			g := gaps[0]
			var reconnect Status
			for _, e := range log.all() {
				if e.State == StateReconnecting {
					reconnect = e
					break
				}
			}
			require.ErrorIs(t, reconnect.Err, tc.wantCausedBy)

			silence := silentSince(0)
			require.False(t, silence.IsZero())
			first := frames[after]
			unwatched := first.wall.Sub(silence)
			require.Greater(t, unwatched, timeout, "the silence lasts at least the timeout")
			const tolerance = 400 * time.Millisecond
			require.InDelta(t, unwatched.Milliseconds(), g.To.Sub(g.From).Milliseconds(), float64(tolerance.Milliseconds()),
				"gap %s..%s, silence %s..%s", g.From.Format(time.StampMilli), g.To.Format(time.StampMilli),
				silence.Format(time.StampMilli), first.wall.Format(time.StampMilli))
			require.InDelta(t, unwatched.Milliseconds(), g.ToMS-g.FromMS, float64(tolerance.Milliseconds()))
			require.Equal(t, frames[after-1].ms, g.FromMS, "the gap starts at the last frame handed on")
			require.Equal(t, first.ms, g.ToMS, "and ends at the first frame after the reconnect")
			// Media time kept pace with wall-clock across the gap: from a frame
			// in the middle of the first connection (past the frames the probe
			// held back) to the first after the reconnect, both moved alike.
			mid := frames[after/2]
			require.InDelta(t, first.wall.Sub(mid.wall).Milliseconds(), first.ms-mid.ms,
				float64(tolerance.Milliseconds()))
		})
	}
}

// gapsOf returns the gaps among events.
func gapsOf(events []Status) []*Gap {
	var out []*Gap
	for _, e := range events {
		if e.State == StateGap {
			out = append(out, e.Gap)
		}
	}
	return out
}
