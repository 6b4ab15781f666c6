package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/browsertest"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

// consoleURLRe is the line watch --console and console print.
var consoleURLRe = regexp.MustCompile(`(?m)^console: (http://\S+/)$`)

// proc is a streamwatch process of a test, its stderr kept.
type proc struct {
	cmd    *exec.Cmd
	stderr *testutil.SyncBuffer
}

// startChild starts the binary with args; it is killed, if still running,
// when t ends.
func startChild(t *testing.T, args ...string) *proc {
	t.Helper()
	c := &proc{cmd: exec.Command(binary, args...), stderr: &testutil.SyncBuffer{}}
	c.cmd.Env = append(os.Environ(), "NATS_URL=", "OMP_THREAD_LIMIT=1", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	c.cmd.WaitDelay = 10 * time.Second
	pw, done := teeStderr(c.cmd, c.stderr, func(string) {})
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill() // the test failed before stopping it
			_ = c.cmd.Wait()
		}
		pw.Close()
		<-done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", args[0], c.stderr.String())
		}
	})
	return c
}

// line waits for stderr to hold a match of re and returns its first group.
func (c *proc) line(t *testing.T, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	var m []string
	require.Eventually(t, func() bool {
		m = re.FindStringSubmatch(c.stderr.String())
		return m != nil
	}, within, 20*time.Millisecond, "no %s in stderr:\n%s", re, c.stderr.String())
	return m[1]
}

// stop interrupts the process and waits for a clean exit.
func (c *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, c.cmd.Wait(), "stderr:\n%s", c.stderr.String())
}

// TestConsoleShowsWatchAlertsLiveAndKeepsVerdicts runs the built binary
// twice over: watch publishing a generated clip to a NATS server of the
// test, and console beside it, looked at by headless Chromium. The alert's
// row is on the page within 2 s of its first record reaching a subscriber,
// its evidence frame (boxed by the worker) loads, and a verdict given on the
// page is still there after the console process is restarted.
func TestConsoleShowsWatchAlertsLiveAndKeepsVerdicts(t *testing.T) {
	srv := testutil.NATSServer(t)
	clip := offerClip(t)
	con := startChild(t, "console", "--nats", srv.ClientURL(), "--addr", "127.0.0.1:0")
	url := con.line(t, consoleURLRe, 30*time.Second)

	tab := browsertest.New(t).Tab(t)
	require.NoError(t, tab.Do(time.Minute, chromedp.Navigate(url), chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "1"`)))

	var mu sync.Mutex
	arrived := map[string]time.Time{}
	nc := testutil.Connect(t, srv.ClientURL())
	_, err := nc.Subscribe("streamwatch.alerts.shop-9", func(m *nats.Msg) {
		var r alerts.Record
		if json.Unmarshal(m.Data, &r) == nil {
			mu.Lock()
			if _, ok := arrived[r.AlertID]; !ok {
				arrived[r.AlertID] = time.Now()
			}
			mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	watch := startChild(t, "watch", clip, "--realtime", "--nats", srv.ClientURL(), "--stream-id", "shop-9",
		"--metrics-addr", "", "--ocr-workers", "1")
	type sighting struct {
		ID string `json:"id"`
		At int64  `json:"at"`
	}
	seen, err := browsertest.Run(tab, 2*time.Minute, chromedp.Poll[sighting](
		`(() => { const r = document.querySelector("tr[data-alert-id]"); return r ? {id: r.dataset.alertId, at: Date.now()} : null; })()`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(2*time.Minute)))
	require.NoError(t, err, "watch stderr:\n%s", watch.stderr.String())
	mu.Lock()
	arrival := arrived[seen.ID]
	mu.Unlock()
	require.False(t, arrival.IsZero(), "the row is of a record published on the stream")
	latency := time.UnixMilli(seen.At).Sub(arrival)
	t.Logf("record at a subscriber to row on the page: %v", latency)
	require.Less(t, latency, 2*time.Second)

	row := fmt.Sprintf(`tr[data-alert-id="%s"]`, seen.ID)
	require.NoError(t, tab.Do(time.Minute, chromedp.Click(chromedp.CSS(row))))
	width, err := browsertest.Run(tab, time.Minute, chromedp.Poll[int](`(() => { const i = document.querySelector("#d-frame");
		return i && i.complete && i.naturalWidth; })()`))
	require.NoError(t, err)
	require.Positive(t, width, "the evidence frame loads")
	require.NoError(t, tab.Do(time.Minute,
		chromedp.SendKeys(chromedp.CSS("#by"), "carol"),
		chromedp.Click(chromedp.CSS(`#detail button[data-verdict="dismissed"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('%s .vcell')?.textContent === "dismissed · carol"`, row))))
	require.NoError(t, watch.cmd.Wait(), "watch stderr:\n%s", watch.stderr.String())
	require.NoError(t, tab.Do(time.Minute, chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`document.querySelector('%s')?.textContent.includes("closed")`, row))), "the row shows the alert's last record")
	require.NoError(t, tab.Do(time.Minute, chromedp.Poll[chromedp.Void](
		`(() => { const s = document.querySelector('tr[data-stream-id="shop-9"] td:nth-child(2)'); return s && s.textContent === "ended"; })()`)),
		"the streams panel has the stream's end")
	shots := t.TempDir()
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" {
		shots = dir // to keep them, e.g. for docs/console.png
	}
	tab.Screenshot(t, shots, "console-watch")

	con.stop(t)
	con = startChild(t, "console", "--nats", srv.ClientURL(), "--addr", "127.0.0.1:0")
	url = con.line(t, consoleURLRe, 30*time.Second)
	require.NoError(t, tab.Do(time.Minute, chromedp.Navigate(url), chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`document.body.dataset.ready === "1" && document.querySelector('%s .vcell')?.textContent === "dismissed · carol"`, row))),
		"the verdict after a console restart; console: %v", tab.Console())
	con.stop(t)
}

// TestWatchConsole is make run's console: watch --console with the embedded
// NATS server prints the console's URL beside the server's, serves the
// alerts and their evidence, and stays up after the stream ends until
// interrupted.
func TestWatchConsole(t *testing.T) {
	w := startChild(t, "watch", offerClip(t), "--realtime", "--stream-id", "demo", "--console", "127.0.0.1:0",
		"--metrics-addr", "", "--ocr-workers", "1")
	url := w.line(t, regexp.MustCompile(`embedded NATS with JetStream at nats://\S+ .*\n(console: http://\S+/)\n`), time.Minute)
	url = consoleURLRe.FindStringSubmatch(url)[1]
	w.line(t, regexp.MustCompile(`(stream ended; the console stays up)`), 2*time.Minute)

	resp, err := http.Get(url + "api/alerts?state=closed")
	require.NoError(t, err)
	var list struct {
		Alerts []alerts.Record `json:"alerts"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.NoError(t, resp.Body.Close())
	requireOfferClipAlert(t, list.Alerts)
	a := list.Alerts[0]
	for _, key := range []string{a.EvidenceFrame, a.Evidence[0].Crop} {
		resp, err := http.Get(url + "api/evidence/" + key)
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, key)
		require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
		require.Equal(t, "\xff\xd8", string(data[:2]))
	}
	w.stop(t)
}

// TestConsoleRefusesOpenAddressOffLoopback: console on an address reachable
// from the network without --token-file or --users-file does not start.
func TestConsoleRefusesOpenAddressOffLoopback(t *testing.T) {
	srv := testutil.NATSServer(t)
	r := runBin(t, 30*time.Second, "", "console", "--nats", srv.ClientURL(), "--addr", "0.0.0.0:0")
	require.Equal(t, 1, r.code, r.stderr)
	require.Regexp(t, `^streamwatch: --addr 0.0.0.0:0 is not a loopback address: give --token-file or --users-file`, r.stderr)
	r = runBin(t, 30*time.Second, "", "watch", offerClip(t), "--console", "0.0.0.0:0", "--metrics-addr", "")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "--console 0.0.0.0:0 is not a loopback address: watch serves the console on loopback only")
}
