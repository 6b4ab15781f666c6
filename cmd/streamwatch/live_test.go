package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/nginxrtmp"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/monitor"
)

// Live-source tests: real servers (nginx-rtmp, ffmpeg as SRT and HTTP server)
// on loopback ports chosen at run time, fed by ffmpeg publishing a generated
// clip with -re, read by the built binary.
//
// Media time of a live source is milliseconds since the first frame the worker
// decoded, not the publisher's clock: a worker that joins mid-stream counts
// from where it joined. These tests attach the worker before the publisher
// sends its first frame (nginx-rtmp holds a player until a publisher comes;
// ffmpeg as SRT or HTTP server starts sending when the worker connects; the
// HLS reader starts at the first segment of a short playlist), so media time ≈
// clip time and the alert's start_ms can be checked against the caption.

// liveCaptions are the counterfeit offers of liveClip, one brand each, so each
// opens its own alert.
var liveCaptions = []struct {
	text    string
	brand   string
	startMS int64
	endMS   int64
}{
	{"GUCCI bag 1:1 replica", "gucci", 2000, 5000},
	{"PRADA super copy bag", "prada", 6500, 9500},
	{"LV AAA quality wallet", "louis-vuitton", 11000, 14000},
}

// liveClip is 15 s at 15 fps, 720x1280, GOP 2 s, with the three liveCaptions.
func liveClip(t *testing.T) string {
	var caps []clipgen.Caption
	for _, c := range liveCaptions {
		caps = append(caps, clipgen.Caption{Text: c.text, StartMS: c.startMS, EndMS: c.endMS, Size: 48, Box: "black@0.6"})
	}
	return testutil.Generate(t, clipgen.Clip{Name: "live", DurationMS: 15000,
		Background: "smptebars", FPS: 15, Captions: caps})
}

// child starts a process that the test kills (and waits for) when it ends.
func child(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	cmd.WaitDelay = 5 * time.Second
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	return cmd
}

// publish streams liveClip in real time to url in container format.
func publish(t *testing.T, format, url string, extra ...string) *exec.Cmd {
	return publishClip(t, liveClip(t), format, url, extra...)
}

// publishClip streams clip in real time to url in container format.
func publishClip(t *testing.T, clip, format, url string, extra ...string) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", clip, "-c", "copy"}
	args = append(args, extra...)
	args = append(args, "-f", format, url)
	return child(t, "ffmpeg", args...)
}

// nginxRTMP is nginx with the RTMP module: RTMP on rtmpPort, HLS written by the
// same nginx served on httpPort under /hls/, and the RTMP statistics on /stat.
type nginxRTMP struct {
	rtmpPort, httpPort int
}

func startNginx(t *testing.T) nginxRTMP {
	t.Helper()
	dir := t.TempDir()
	n := nginxRTMP{rtmpPort: freePort(t), httpPort: freePort(t)}
	args, err := nginxrtmp.Config{Dir: dir, RTMPPort: n.rtmpPort, HTTPPort: n.httpPort, HLS: true, LogLevel: "info"}.Write()
	if errors.Is(err, nginxrtmp.ErrNoModule) {
		t.Skip("libnginx-mod-rtmp not installed (make test installs it)")
	}
	require.NoError(t, err)
	child(t, "nginx", args...)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.rtmpPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "nginx did not come up; see %s/error.log", dir)
	return n
}

// waitPlayer waits until nginx has a client playing (or waiting to play) stream key.
func (n nginxRTMP) waitPlayer(t *testing.T, key string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)<stream>\s*<name>` + regexp.QuoteMeta(key) + `</name>.*?</stream>`)
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stat", n.httpPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := re.Find(b)
		return m != nil && strings.Contains(string(m), "<client>")
	}, 60*time.Second, 100*time.Millisecond, "the worker never asked nginx for stream %s", key)
}

// liveWorker is a running `streamwatch watch` with what it published on NATS.
type liveWorker struct {
	cmd     *exec.Cmd
	id      string
	out     string
	stderr  *testutil.SyncBuffer
	metrics string // host:port of /metrics, once logged

	mu       sync.Mutex
	alerts   []timed[alerts.Record]
	statuses []timed[monitor.StreamStatus]
}

type timed[T any] struct {
	at time.Time
	v  T
}

// collectTimed appends to *into, under mu, every message on subject that
// decodes as a T, with the time it arrived.
func collectTimed[T any](t *testing.T, nc *nats.Conn, subject string, mu *sync.Mutex, into *[]timed[T]) {
	t.Helper()
	_, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var v T
		if json.Unmarshal(m.Data, &v) == nil {
			mu.Lock()
			*into = append(*into, timed[T]{time.Now(), v})
			mu.Unlock()
		}
	})
	require.NoError(t, err)
}

// startWatch runs watch on url against an embedded NATS server of the test's
// and collects its alerts and status events.
func startWatch(t *testing.T, url, id string, args ...string) *liveWorker {
	t.Helper()
	srv := testutil.NATSServer(t)
	nc := testutil.Connect(t, srv.ClientURL())
	w := &liveWorker{id: id, out: filepath.Join(t.TempDir(), "alerts.jsonl"), stderr: &testutil.SyncBuffer{}}
	collectTimed(t, nc, "streamwatch.alerts."+id, &w.mu, &w.alerts)
	collectTimed(t, nc, monitor.StatusSubject(id), &w.mu, &w.statuses)
	require.NoError(t, nc.Flush())

	all := append([]string{"watch", url, "--nats", srv.ClientURL(), "--stream-id", id, "--out", w.out,
		"--metrics-addr", "127.0.0.1:0", "--ocr-workers", "1"}, args...)
	w.cmd = exec.Command(binary, all...)
	w.cmd.Env = append(os.Environ(), "NATS_URL=", "OMP_THREAD_LIMIT=1", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	w.cmd.WaitDelay = 10 * time.Second
	pw, done := teeStderr(w.cmd, w.stderr, func(addr string) { w.mu.Lock(); w.metrics = addr; w.mu.Unlock() })
	require.NoError(t, w.cmd.Start())
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
		pw.Close()
		<-done
		if t.Failed() {
			t.Logf("worker stderr:\n%s", w.stderr.String())
		}
	})
	return w
}

var metricsAddrRe = regexp.MustCompile(`addr=http://(\S+)/metrics`)

// teeStderr copies cmd's stderr, line by line, into buf, and hands metrics
// the address of /metrics once the process logs it. Call it before Start;
// close the returned writer once the process has exited, and done closes
// when the last line is in buf.
func teeStderr(cmd *exec.Cmd, buf *testutil.SyncBuffer, metrics func(addr string)) (pw io.Closer, done <-chan struct{}) {
	pr, w := io.Pipe()
	cmd.Stderr = w
	d := make(chan struct{})
	go func() {
		defer close(d)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			_, _ = buf.Write([]byte(l + "\n")) // a SyncBuffer never fails
			if m := metricsAddrRe.FindStringSubmatch(l); m != nil {
				metrics(m[1])
			}
		}
	}()
	return w, d
}

// stop interrupts the worker and waits for it to exit cleanly.
func (w *liveWorker) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, w.cmd.Wait(), "stderr:\n%s", w.stderr.String())
}

// waitAlert waits for the open record of the counterfeit-offer alert of brand
// whose start is after fromMS.
func (w *liveWorker) waitAlert(t *testing.T, brand string, fromMS int64, within time.Duration) timed[alerts.Record] {
	t.Helper()
	var got timed[alerts.Record]
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, a := range w.alerts {
			r := a.v
			if r.State == alerts.StateOpen && r.Rule == "counterfeit-offer" && slices.Contains(r.Brands, brand) && r.StartMS >= fromMS {
				got = a
				return true
			}
		}
		return false
	}, within, 50*time.Millisecond, "no counterfeit-offer alert for %s after %d ms; stderr:\n%s", brand, fromMS, w.stderr.String())
	return got
}

func (w *liveWorker) waitStatus(t *testing.T, state string, within time.Duration) timed[monitor.StreamStatus] {
	t.Helper()
	var got timed[monitor.StreamStatus]
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, s := range w.statuses {
			if s.v.State == state {
				got = s
				return true
			}
		}
		return false
	}, within, 20*time.Millisecond, "no %s status; stderr:\n%s", state, w.stderr.String())
	return got
}

func (w *liveWorker) scrape(t *testing.T) string {
	t.Helper()
	w.mu.Lock()
	addr := w.metrics
	w.mu.Unlock()
	require.NotEmpty(t, addr)
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// checkCaptions asserts an alert for every caption of the clip, at its media
// time (±1.5 s), and returns the latency of each from the caption's appearance
// at the publisher (clip start + caption start) to the alert's arrival on NATS.
func (w *liveWorker) checkCaptions(t *testing.T, clipStart time.Time, within time.Duration) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for _, c := range liveCaptions {
		a := w.waitAlert(t, c.brand, 0, within)
		require.InDelta(t, c.startMS, a.v.StartMS, 1500, "%s", c.text)
		lat = append(lat, a.at.Sub(clipStart.Add(time.Duration(c.startMS)*time.Millisecond)))
	}
	return lat
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// cpuPerSecond is the worker's CPU time per second of wall-clock since start.
func cpuPerSecond(cmd *exec.Cmd, started time.Time) float64 {
	ps := cmd.ProcessState
	return (ps.UserTime() + ps.SystemTime()).Seconds() / time.Since(started).Seconds()
}

func TestLiveRTMPAndHLSFromNginx(t *testing.T) {
	n := startNginx(t)
	const key = "shop1"
	// A password in the URL: nginx ignores it; it must show nowhere.
	rtmpURL := fmt.Sprintf("rtmp://seller:secret@127.0.0.1:%d/live/%s", n.rtmpPort, key)
	started := time.Now()
	w := startWatch(t, rtmpURL, "rtmp-shop")
	n.waitPlayer(t, key)
	clipStart := time.Now()
	publish(t, "flv", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.rtmpPort, key))

	// The HLS reader joins as soon as nginx has written the first fragment, so it
	// starts at the first segment.
	playlist := fmt.Sprintf("http://127.0.0.1:%d/hls/%s.m3u8", n.httpPort, key)
	require.Eventually(t, func() bool {
		resp, err := http.Get(playlist)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "nginx wrote no HLS playlist")
	h := startWatch(t, playlist, "hls-shop")

	lat := w.checkCaptions(t, clipStart, 30*time.Second)
	t.Logf("RTMP: caption-to-alert latency %v, median %v", lat, median(lat))
	w.waitStatus(t, "attached", time.Second)
	metrics := w.scrape(t)
	require.Contains(t, metrics, `streamwatch_stream_up{stream="rtmp-shop"} 1`)
	w.stop(t)
	t.Logf("RTMP: worker CPU %.2f s per second at the default sampling (1 OCR worker, startup included)", cpuPerSecond(w.cmd, started))

	hlat := h.checkCaptions(t, clipStart, 30*time.Second)
	t.Logf("HLS: caption-to-alert latency %v, median %v", hlat, median(hlat))
	h.stop(t)

	out, err := os.ReadFile(w.out)
	require.NoError(t, err)
	require.NotEmpty(t, out)
	for what, text := range map[string]string{"stderr": w.stderr.String(), "metrics": metrics, "alert records": string(out)} {
		require.NotContains(t, text, "secret", what)
	}
	require.Contains(t, w.stderr.String(), fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.rtmpPort, key))
}

func TestLiveRTMPPublisherRestart(t *testing.T) {
	n := startNginx(t)
	const key = "restart"
	w := startWatch(t, fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.rtmpPort, key), "restart-shop")
	n.waitPlayer(t, key)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.rtmpPort, key)
	pub := publish(t, "flv", url)
	first := w.waitAlert(t, "gucci", 0, 30*time.Second)
	require.InDelta(t, 2000, first.v.StartMS, 1500)

	// Kill the publisher in the middle of the stream; bring it back 2 s later,
	// from the clip's start.
	require.NoError(t, pub.Process.Kill())
	w.waitStatus(t, "reconnecting", 20*time.Second)
	time.Sleep(2 * time.Second)
	publish(t, "flv", url)
	gap := w.waitStatus(t, "gap", 30*time.Second).v
	require.NotNil(t, gap.Gap)
	require.Greater(t, gap.Gap.ToMS, gap.Gap.FromMS)
	require.GreaterOrEqual(t, gap.Gap.ToMS-gap.Gap.FromMS, int64(2000), "the gap spans at least the outage")
	from, err := time.Parse(time.RFC3339Nano, gap.Gap.From)
	require.NoError(t, err)
	to, err := time.Parse(time.RFC3339Nano, gap.Gap.To)
	require.NoError(t, err)
	require.InDelta(t, to.Sub(from).Milliseconds(), gap.Gap.ToMS-gap.Gap.FromMS, 100)

	// Alerts resume, at media time after the gap: the restarted clip starts
	// at to_ms and shows the caption again 2 s later, within --gap of the
	// first frame after the outage. The outage is no evidence that the
	// caption went away: the alert open when the publisher died goes on.
	var again alerts.Record
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, a := range w.alerts {
			if slices.Contains(a.v.Brands, "gucci") && a.v.EndMS >= gap.Gap.ToMS {
				again = a.v
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no gucci record after the gap; stderr:\n%s", w.stderr.String())
	require.Equal(t, first.v.AlertID, again.AlertID, "one alert across the outage")
	require.Equal(t, first.v.StartMS, again.StartMS)
	require.InDelta(t, gap.Gap.ToMS+2000, again.EndMS, 1500)
	metrics := w.scrape(t)
	require.Regexp(t, `(?m)^streamwatch_reconnects_total\{stream="restart-shop"\} [1-9]`, metrics)
	require.Regexp(t, `(?m)^streamwatch_gaps_total\{stream="restart-shop"\} [1-9]`, metrics)
	require.Regexp(t, `(?m)^streamwatch_unmonitored_seconds_total\{stream="restart-shop"\} [1-9]`, metrics)
	w.stop(t)
}

// checkMediaTimes asserts an alert at the right media time for every caption.
func (w *liveWorker) checkMediaTimes(t *testing.T, within time.Duration) {
	t.Helper()
	for _, c := range liveCaptions {
		a := w.waitAlert(t, c.brand, 0, within)
		require.InDelta(t, c.startMS, a.v.StartMS, 1500, "%s", c.text)
	}
}

func TestLiveSRT(t *testing.T) {
	port := freePort(t)
	// ffmpeg listens and starts sending when the worker calls.
	// ffmpeg's clock (-re) starts before a caller comes, so it sends the first
	// packets in a burst; without tlpktdrop=0 SRT drops them as too late.
	publish(t, "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&tlpktdrop=0", port))
	w := startWatch(t, fmt.Sprintf("srt://127.0.0.1:%d?tlpktdrop=0", port), "srt-shop")
	w.checkMediaTimes(t, 40*time.Second)
	w.stop(t)
}

func TestLiveHTTPFLV(t *testing.T) {
	port := freePort(t)
	// ffmpeg as an HTTP server: it waits for the worker's GET, then streams FLV.
	publish(t, "flv", fmt.Sprintf("http://127.0.0.1:%d/live.flv", port), "-listen", "1")
	w := startWatch(t, fmt.Sprintf("http://127.0.0.1:%d/live.flv", port), "flv-shop")
	w.checkMediaTimes(t, 40*time.Second)
	w.stop(t)
}

func TestLiveSilentServer(t *testing.T) {
	// A server that accepts and never sends: with --stall-timeout 1s the open
	// gives up within its bound and the worker keeps retrying. (A refused host:
	// ingest.TestSuperviseBackoffGrowsAndCaps.)
	w := startWatch(t, "rtmp://user:secret@"+testutil.StallListener(t)+"/live/x", "silent", "--stall-timeout", "1s")
	start := time.Now()
	s := w.waitStatus(t, "reconnecting", 20*time.Second)
	require.Contains(t, s.v.Error, "timed out")
	require.NotContains(t, s.v.Error, "secret")
	// The first attempt started after the worker's own start-up; allow for it.
	require.Less(t, s.at.Sub(start), 10*time.Second)
	w.stop(t)
	require.NotContains(t, w.stderr.String(), "secret")
}
