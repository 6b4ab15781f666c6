package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/internal/wheptest"
	"github.com/streamwatch/streamwatch/monitor"
)

// faultyWHEP is a WHEP endpoint on 127.0.0.1 that answers the n-th POST with
// answer(n) (1-based) when that is not 0, and otherwise passes the request on
// to a real WHEP endpoint, as does it every other request (the session DELETE).
type faultyWHEP struct {
	*httptest.Server
	answer func(n int) int
	posts  atomic.Int64
}

func startFaultyWHEP(t *testing.T, backend string, answer func(n int) int) *faultyWHEP {
	t.Helper()
	f := &faultyWHEP{answer: answer}
	var proxy http.Handler = http.NotFoundHandler()
	if backend != "" {
		u, err := url.Parse(backend)
		require.NoError(t, err)
		proxy = httputil.NewSingleHostReverseProxy(u)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if code := f.answer(int(f.posts.Add(1))); code != 0 {
				http.Error(w, "fault injected by test", code)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// whepURL is the endpoint as the worker is given it, with a bearer token that
// must show nowhere.
func (f *faultyWHEP) whepURL() string {
	return "whep+http://:tok3n@" + strings.TrimPrefix(f.URL, "http://") + "/whep"
}

// endpoint is how errors name the endpoint: redacted, without the token.
func (f *faultyWHEP) endpoint() string { return f.URL + "/whep" }

// waitExit waits for the worker to exit by itself and returns its exit code.
func (w *liveWorker) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(within):
		_ = w.cmd.Process.Kill()
		<-done
		require.FailNow(t, "the worker did not exit", "within %s; stderr:\n%s", within, w.stderr.String())
	}
	return w.cmd.ProcessState.ExitCode()
}

// metricsText is the worker's /metrics page, "" until it can be had.
func (w *liveWorker) metricsText() string {
	w.mu.Lock()
	addr := w.metrics
	w.mu.Unlock()
	if addr == "" {
		return ""
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (w *liveWorker) statusesIn(state string) []monitor.StreamStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []monitor.StreamStatus
	for _, s := range w.statuses {
		if s.v.State == state {
			out = append(out, s.v)
		}
	}
	return out
}

// TestWatchWHEPEndpointRefuses: a WHEP endpoint that answers 4xx at the first
// open ends watch with one clear line and exit 1 (the URL, token or offer is
// wrong: retrying will not help); 5xx before it is retried with backoff, each
// failure a reconnecting status and a log line naming the endpoint and status.
func TestWatchWHEPEndpointRefuses(t *testing.T) {
	tests := []struct {
		name        string
		answer      func(n int) int
		unavailable int // 503s before the refusal
		refused     int
	}{
		{"404 at once", func(int) int { return http.StatusNotFound }, 0, http.StatusNotFound},
		{"503 twice then 403", func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusForbidden
		}, 2, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := startFaultyWHEP(t, "", tc.answer)
			w := startWatch(t, f.whepURL(), "whep-refused", "--reconnect-max", "2s", "--stall-timeout", "5s")
			require.Equal(t, 1, w.waitExit(t, 30*time.Second), "stderr:\n%s", w.stderr.String())

			refusal := fmt.Sprintf("open whep+http://%s/whep: WHEP endpoint %s answered %d %s: fault injected by test",
				strings.TrimPrefix(f.URL, "http://"), f.endpoint(), tc.refused, http.StatusText(tc.refused))
			require.Eventually(t, func() bool {
				return strings.Contains(w.stderr.String(), "streamwatch: "+refusal+"\n")
			}, 5*time.Second, 20*time.Millisecond, "want the last line %q; stderr:\n%s", refusal, w.stderr.String())
			require.EqualValues(t, tc.unavailable+1, f.posts.Load(), "one POST per attempt, none after the refusal")

			// Every 503 is a reconnecting status and a log line, with growing delays.
			unavailable := fmt.Sprintf("WHEP endpoint %s answered 503 Service Unavailable", f.endpoint())
			var logged int
			for _, l := range strings.Split(w.stderr.String(), "\n") {
				if strings.Contains(l, "reconnecting") && strings.Contains(l, unavailable) {
					logged++
				}
			}
			require.Equal(t, tc.unavailable, logged, "stderr:\n%s", w.stderr.String())
			require.Eventually(t, func() bool { return len(w.statusesIn("reconnecting")) == tc.unavailable },
				2*time.Second, 20*time.Millisecond)
			var last int64
			for i, s := range w.statusesIn("reconnecting") {
				require.Equal(t, i+1, s.Attempt)
				require.Contains(t, s.Error, unavailable)
				require.Greater(t, s.DelayMS, last, "backoff grows")
				last = s.DelayMS
			}
			require.Empty(t, w.statusesIn("attached"))
			require.NotContains(t, w.stderr.String(), "tok3n")
		})
	}
}

// TestWatchWHEPEndpointUnavailableThenRefusing: a 503 at the first open is
// retried and the stream attaches; once frames have flowed, the endpoint going
// away (media stops, then 404 — what a WHEP server answers while nobody
// publishes) is retried, not fatal, and the worker attaches again with a gap.
func TestWatchWHEPEndpointUnavailableThenRefusing(t *testing.T) {
	backend, err := wheptest.Start(wheptest.Options{})
	require.NoError(t, err)
	t.Cleanup(backend.Close)
	var (
		refuse  atomic.Bool
		feeding atomic.Bool
	)
	f := startFaultyWHEP(t, backend.URL, func(n int) int {
		switch {
		case n == 1:
			return http.StatusServiceUnavailable
		case refuse.Load():
			return http.StatusNotFound
		}
		return 0
	})
	feeding.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	h264 := whepH264(t)
	wg.Go(func() { feedH264(ctx, t, backend.Track, h264, 15, feeding.Load) })

	w := startWatch(t, f.whepURL(), "whep-flaky", "--reconnect-max", "1s", "--stall-timeout", "2s")
	first := w.waitStatus(t, "reconnecting", 20*time.Second).v
	require.Contains(t, first.Error, fmt.Sprintf("WHEP endpoint %s answered 503 Service Unavailable", f.endpoint()))
	w.waitStatus(t, "attached", 20*time.Second)
	decoded := regexp.MustCompile(`(?m)^streamwatch_frames_decoded_total [1-9]`)
	require.Eventually(t, func() bool { return decoded.MatchString(w.metricsText()) },
		20*time.Second, 100*time.Millisecond, "no frame decoded; stderr:\n%s", w.stderr.String())

	// The publisher goes: no more media, and the endpoint answers 404.
	refuse.Store(true)
	feeding.Store(false)
	refusal := fmt.Sprintf("WHEP endpoint %s answered 404 Not Found", f.endpoint())
	require.Eventually(t, func() bool {
		for _, s := range w.statusesIn("reconnecting") {
			if strings.Contains(s.Error, refusal) {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "no reconnecting status for the 404; stderr:\n%s", w.stderr.String())
	require.Nil(t, w.cmd.ProcessState, "watch must keep retrying")

	// It comes back: the worker attaches again and reports what it missed.
	refuse.Store(false)
	feeding.Store(true)
	gap := w.waitStatus(t, "gap", 20*time.Second).v
	require.NotNil(t, gap.Gap)
	require.Greater(t, gap.Gap.ToMS, gap.Gap.FromMS)
	require.GreaterOrEqual(t, len(w.statusesIn("attached")), 2)
	w.stop(t)
	require.NotContains(t, w.stderr.String(), "tok3n")
	require.Eventually(t, func() bool { return len(backend.Deleted()) == 2 }, 5*time.Second, 20*time.Millisecond,
		"both sessions DELETEd through the endpoint; deleted %v", backend.Deleted())
}

// whepH264 is 2 s of H.264 Annex B as a browser sends it: baseline, no B-frames,
// an IDR with SPS and PPS every second.
func whepH264(t *testing.T) string {
	return testutil.Clip(t, "whep.h264", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "2", "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "15", "-x264-params", "repeat-headers=1",
		"-f", "h264")
}

// feedH264 sends the access units of an H.264 Annex B file to track at fps, in a
// loop, while on() holds; it returns when ctx ends.
func feedH264(ctx context.Context, t *testing.T, track *webrtc.TrackLocalStaticRTP, path string, fps int, on func() bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	units, err := wheptest.AccessUnits(data)
	if err != nil {
		t.Error(path, err)
		return
	}
	pk := rtp.NewPacketizer(1200, 96, 0x1234, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for n := 0; ; n++ {
		if on() {
			for _, p := range pk.Packetize(units[n%len(units)], uint32(90000/fps)) {
				_ = track.WriteRTP(p)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
