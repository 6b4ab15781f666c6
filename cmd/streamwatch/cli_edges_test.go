package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

// lowContrastClip is the eval corpus's "lowcontrast" clip: grey on dark
// grey, on which Tesseract finds lines with no text and, unless told
// otherwise, prints its statistics of them on stderr.
func lowContrastClip(t *testing.T) string {
	return testutil.Generate(t, clipgen.Clip{Name: "lowcontrast", DurationMS: 8000, FPS: 15,
		Captions: []clipgen.Caption{{Text: "Prada bag AAA quality", StartMS: 1500, EndMS: 6500,
			Color: "0x909090", Box: "0x505050@1.0", Size: 44}}})
}

// stderrLines are the non-empty lines of a process's stderr.
func stderrLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestJSONLogKeepsEveryStderrLineJSON(t *testing.T) {
	clip := lowContrastClip(t)
	tests := []struct {
		name      string
		args      []string
		code      int
		wantAlert bool
	}{
		{"replay", []string{"replay", clip}, 0, true},
		{"watch with the embedded NATS", []string{"watch", clip, "--metrics-addr", ""}, 0, true},
		{"watch that fails", []string{"watch", filepath.Join(t.TempDir(), "missing.mp4"), "--metrics-addr", ""}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, 3*time.Minute, "", append(tc.args, "--log-format", "json")...)
			require.Equal(t, tc.code, r.code, r.stderr)
			lines := stderrLines(r.stderr)
			require.NotEmpty(t, lines)
			alerts := 0
			for _, l := range lines {
				var entry struct {
					Msg   string `json:"msg"`
					Level string `json:"level"`
				}
				require.NoError(t, json.Unmarshal([]byte(l), &entry), "a stderr line that is no JSON: %q", l)
				if entry.Msg == "alert" {
					alerts++
				}
			}
			if tc.wantAlert {
				require.Positive(t, alerts, "the alerts are logged as JSON entries")
			} else {
				require.Contains(t, lines[len(lines)-1], `"level":"ERROR"`)
				require.Contains(t, lines[len(lines)-1], "missing.mp4")
			}
		})
	}
}

func TestStopOfAPatternIsAUsageError(t *testing.T) {
	url := testutil.NATSServer(t).ClientURL()
	for _, id := range []string{"*", "shop-*", ">", "shop?"} {
		t.Run(id, func(t *testing.T) {
			r := runBin(t, 30*time.Second, "", "stop", id, "--nats", url)
			require.Equal(t, exitUsage, r.code, r.stderr)
			lines := stderrLines(r.stderr)
			require.Len(t, lines, 1, r.stderr)
			require.Contains(t, lines[0], "not a pattern")
		})
	}
	r := runBin(t, 30*time.Second, "", "stop", "bad id", "--nats", url)
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "invalid stream id")
}

func TestLongInputIsEchoedBounded(t *testing.T) {
	long := strings.Repeat("a", 9999) + "!" // 10,000 characters, not a valid id
	url := testutil.NATSServer(t).ClientURL()
	tests := []struct {
		name string
		args []string
	}{
		{"replay --stream-id", []string{"replay", offerClip(t), "--stream-id", long}},
		{"watch --stream-id", []string{"watch", offerClip(t), "--stream-id", long, "--metrics-addr", ""}},
		{"submit --stream-id", []string{"submit", "rtmp://127.0.0.1/live/x", "--stream-id", long, "--nats", url}},
		{"stop", []string{"stop", long, "--nats", url}},
		{"alerts --stream", []string{"alerts", "--stream", long, "--nats", url}},
		{"unknown command", []string{long}},
		{"flag value", []string{"replay", offerClip(t), "--sample-interval", long}},
		{"unknown flag", []string{"replay", offerClip(t), "--" + long}},
		{"--log-level value", []string{"replay", offerClip(t), "--log-level", long}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, time.Minute, "", tc.args...)
			require.Equal(t, exitUsage, r.code, "stderr: %.300s", r.stderr)
			lines := stderrLines(r.stderr)
			require.Len(t, lines, 1, "stderr: %.300s", r.stderr)
			require.Less(t, len(lines[0]), 400, "the echo is bounded: %s", lines[0])
			require.Contains(t, lines[0], "… (10")
			require.Contains(t, lines[0], " characters)")
		})
	}
}

// metricsWatch is a running `watch --realtime` of a clip with metrics on
// the default address (no --metrics-addr), and its stderr.
type metricsWatch struct {
	cmd     *exec.Cmd
	stderr  *testutil.SyncBuffer
	addr    chan string
	stopped <-chan struct{}
}

func startMetricsWatch(t *testing.T, clip string, args ...string) *metricsWatch {
	t.Helper()
	w := &metricsWatch{stderr: &testutil.SyncBuffer{}, addr: make(chan string, 1)}
	w.cmd = exec.Command(binary, append([]string{"watch", clip, "--realtime", "--ocr-workers", "1"}, args...)...)
	w.cmd.Env = append(os.Environ(), "NATS_URL=", "OMP_THREAD_LIMIT=1", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	w.cmd.WaitDelay = 10 * time.Second
	var pw interface{ Close() error }
	pw, w.stopped = teeStderr(w.cmd, w.stderr, func(addr string) {
		select {
		case w.addr <- addr:
		default: // logged twice (taken, then listening): the first tells
		}
	})
	require.NoError(t, w.cmd.Start())
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill() // it may have exited meanwhile; Wait tells
			_ = w.cmd.Wait()         // killed: the status says nothing
		}
		_ = pw.Close() // a pipe writer's Close never fails
		<-w.stopped
		if t.Failed() {
			t.Logf("watch stderr:\n%s", w.stderr.String())
		}
	})
	return w
}

func (w *metricsWatch) metricsAddr(t *testing.T) string {
	t.Helper()
	select {
	case a := <-w.addr:
		return a
	case <-time.After(time.Minute):
		t.Fatalf("no metrics address logged; stderr:\n%s", w.stderr.String())
		return ""
	}
}

func TestSecondDefaultWatchTakesAFreeMetricsPort(t *testing.T) {
	// The default address is fixed (localhost:9464): whichever process has
	// it, this test's first watch or another, the second watch finds it taken.
	clip := offerClip(t)
	first := startMetricsWatch(t, clip)
	a := first.metricsAddr(t)
	second := startMetricsWatch(t, clip)
	b := second.metricsAddr(t)
	require.NotEqual(t, a, b)
	require.Contains(t, second.stderr.String(), "default metrics address in use")
	for _, addr := range []string{a, b} {
		resp, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, addr)
	}
	for _, w := range []*metricsWatch{first, second} {
		if err := w.cmd.Process.Signal(syscall.SIGINT); !errors.Is(err, os.ErrProcessDone) {
			require.NoError(t, err) // else the clip was over already: it exited by itself
		}
		require.NoError(t, w.cmd.Wait(), w.stderr.String())
	}

	// An address the user chose is not replaced: one line says what to do.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	r := runBin(t, time.Minute, "", "watch", clip, "--metrics-addr", ln.Addr().String())
	require.Equal(t, exitError, r.code, r.stderr)
	last := stderrLines(r.stderr)
	require.Contains(t, last[len(last)-1], "--metrics-addr "+ln.Addr().String()+" is in use")
}

func TestSIGTERMEndsTheStreamWithoutAnError(t *testing.T) {
	w := startWatch(t, offerClip(t), "sigterm", "--realtime")
	w.waitStatus(t, "attached", time.Minute)
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, w.cmd.Wait(), w.stderr.String())
	ended := w.waitStatus(t, "ended", 10*time.Second).v
	require.Empty(t, ended.Error, "a requested stop is no failure")
	require.Equal(t, "stopped: terminated signal received", ended.Reason)
}

func TestPprofOnlyWhenAskedFor(t *testing.T) {
	clip := offerClip(t)
	get := func(addr string) int {
		resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	with := startMetricsWatch(t, clip, "--metrics-addr", "127.0.0.1:0", "--pprof")
	without := startMetricsWatch(t, clip, "--metrics-addr", "127.0.0.1:0")
	require.Equal(t, http.StatusOK, get(with.metricsAddr(t)), "--pprof serves /debug/pprof/")
	require.Equal(t, http.StatusNotFound, get(without.metricsAddr(t)), "without --pprof there are no profiles")
}
