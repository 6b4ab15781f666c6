package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/internal/wheptest"
)

// The browser's fake camera loops an 8 s clip with the caption from 2 s to 5.5 s.
const (
	whepLoopMS         = 8000
	whepCaptionStartMS = 2000
	whepCaptionEndMS   = 5500
)

// whepY4M makes the clip the browser's camera plays, as raw video.
func whepY4M(t *testing.T) string {
	mp4 := testutil.Generate(t, clipgen.Clip{
		Name: "whep", Width: 480, Height: 854, FPS: 15, DurationMS: whepLoopMS, Background: "testsrc2",
		Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: whepCaptionStartMS,
			EndMS: whepCaptionEndMS, Size: 34, Box: "black@0.6"}},
	})
	return testutil.Clip(t, "whep.y4m", "-i", mp4, "-pix_fmt", "yuv420p")
}

type browserEvent struct {
	Event string `json:"event"`
	State string `json:"state"`
	Error string `json:"error"`
	T     int64  `json:"t"`
}

// TestWatchWHEPFromBrowser: headless Chromium publishes a fake camera showing a
// counterfeit offer over WebRTC to a relay; `streamwatch watch whep+http://…` pulls
// it from the relay's WHEP endpoint and must publish the counterfeit-offer alert.
func TestWatchWHEPFromBrowser(t *testing.T) {
	if wheptest.ChromiumPath() == "" {
		t.Skip("chromium not installed (make deps installs it)")
	}
	y4m := whepY4M(t)
	srv, err := wheptest.Start(wheptest.Options{Codec: wheptest.H264, Page: wheptest.PublisherPage("video/H264")})
	require.NoError(t, err)
	t.Cleanup(srv.Close)

	browser, err := wheptest.StartChromium(srv.URL+"/", y4m, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(browser.Close)

	// Wait for the browser's camera and connection.
	var camAt time.Time
	deadline := time.Now().Add(20 * time.Second)
	for connected := false; !connected; {
		require.False(t, browser.Exited(), "chromium exited: %s", browser.Output(4000))
		require.True(t, time.Now().Before(deadline), "browser did not publish; reports %v; chromium: %s",
			srv.Reports(), browser.Output(4000))
		for _, r := range srv.Reports() {
			var ev browserEvent
			require.NoError(t, json.Unmarshal([]byte(r), &ev))
			require.NotEqual(t, "error", ev.Event, "browser: %s", ev.Error)
			switch {
			case ev.Event == "camera":
				camAt = time.UnixMilli(ev.T)
			case ev.Event == "state" && ev.State == "connected":
				connected = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.False(t, camAt.IsZero())

	ns := testutil.NATSServer(t)
	nc := testutil.Connect(t, ns.ClientURL())
	type arrival struct {
		rec alerts.Record
		at  time.Time
	}
	var (
		mu       sync.Mutex
		arrivals []arrival
	)
	_, err = nc.Subscribe("streamwatch.alerts.whep", func(m *nats.Msg) {
		var r alerts.Record
		if json.Unmarshal(m.Data, &r) == nil {
			mu.Lock()
			arrivals = append(arrivals, arrival{r, time.Now()})
			mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	url := "whep+http://" + strings.TrimPrefix(srv.URL, "http://") + "/whep"
	cmd := exec.CommandContext(ctx, binary, "watch", url, "--nats", ns.ClientURL(), "--stream-id", "whep",
		"--metrics-addr", "", "--out", out)
	cmd.Env = append(cmd.Environ(), "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	watchStart := time.Now()

	// The worker may join while the caption shows: a segment starting in the first
	// moments of media time is cut short, and says nothing about latency.
	joinedMidCaption := func(r alerts.Record) bool { return r.StartMS < 1500 }
	fullClosed := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range arrivals {
			if a.rec.Rule == "counterfeit-offer" && a.rec.State == alerts.StateClosed && !joinedMidCaption(a.rec) {
				n++
			}
		}
		return n
	}
	for fullClosed() < 2 && time.Since(watchStart) < 27*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	sigAt := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.NotContains(t, stderr.String(), "panic")
	t.Logf("browser: H.264 over WebRTC; relay PLIs from the worker: %d", srv.PLIs())

	rs := readRecords(t, out)
	mu.Lock()
	defer mu.Unlock()
	var opens []arrival
	var closed []alerts.Record // before SIGINT, which cuts the open segment
	for _, a := range arrivals {
		if a.rec.Rule != "counterfeit-offer" {
			continue
		}
		require.Contains(t, a.rec.Brands, "gucci")
		require.Contains(t, a.rec.Phrases, "replica")
		if joinedMidCaption(a.rec) {
			continue
		}
		switch a.rec.State {
		case "open":
			opens = append(opens, a)
		case alerts.StateClosed:
			if a.at.Before(sigAt) {
				closed = append(closed, a.rec)
			}
		}
	}
	require.NotEmpty(t, opens, "no counterfeit-offer alert; records %v; stderr: %s", rs, stderr.String())
	require.NotEmpty(t, closed, "no closed counterfeit-offer alert; stderr: %s", stderr.String())
	ev := strings.ToLower(opens[0].rec.Evidence[0].Text)
	require.Contains(t, ev, "gucci")
	require.Contains(t, ev, "replica")

	// Media time: each segment lasts about as long as the caption, and segments are a
	// loop apart in media time as in wall-clock time.
	// A segment's start and end are sampled frames, one per second of media time:
	// each edge can fall up to one interval inside the caption, so its length can
	// come out up to two intervals short (seen here: 1.505 s short under load).
	for _, r := range closed {
		require.InDelta(t, whepCaptionEndMS-whepCaptionStartMS, r.EndMS-r.StartMS, 2000, "segment %+v", r)
	}
	for i := 1; i < len(opens); i++ {
		dMedia := opens[i].rec.StartMS - opens[i-1].rec.StartMS
		require.Positive(t, dMedia)
		require.InDelta(t, whepLoopMS, dMedia, 1500)
		require.InDelta(t, opens[i].at.Sub(opens[i-1].at).Milliseconds(), dMedia, 1500)
	}

	// Latency from the caption appearing at the browser to the alert on NATS. The
	// camera starts the clip when getUserMedia resolves and loops it.
	var lat, decodeLat []time.Duration
	for _, a := range opens {
		since := a.at.Sub(camAt).Milliseconds() - whepCaptionStartMS
		shown := camAt.Add(time.Duration(whepCaptionStartMS+since/whepLoopMS*whepLoopMS) * time.Millisecond)
		lat = append(lat, a.at.Sub(shown))
		if started, err := time.Parse(alerts.TimeFormat, a.rec.StartedAt); err == nil {
			decodeLat = append(decodeLat, started.Sub(shown))
		}
	}
	slices.Sort(lat)
	t.Logf("caption at the browser → alert on NATS: %v (median %v); → first matching frame decoded: %v",
		lat, lat[len(lat)/2], decodeLat)
	require.Less(t, lat[len(lat)/2], 5*time.Second)
}
