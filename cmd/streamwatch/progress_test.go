package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of 160 columns: its master, and the
// terminal a child process writes to.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, master.Close()) })
	fd := int(master.Fd())
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)) // unlockpt
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 160}))
	return master, tty
}

// runOnTerminal runs the binary with stderr on a pseudo-terminal and
// returns what it wrote there and its exit code.
func runOnTerminal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	master, tty := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "NATS_URL=", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	cmd.Stderr = tty
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	require.NoError(t, tty.Close()) // the child has its own; EOF (EIO) comes when it exits
	got := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, master) // ends with EIO once the child's end closes
		got <- buf.Bytes()
	}()
	err := cmd.Wait()
	out := string(<-got)
	require.NoError(t, ctx.Err(), "timed out; terminal: %q", out)
	code := 0
	if ee := (*exec.ExitError)(nil); err != nil {
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	return out, code
}

// progressLine is one drawing of the progress line.
// A file replayed in less than a redraw interval may show only its first
// drawing ("starting"; before its source opens, its length is not known
// and the drawing says how much was read: "0s read") or its last (nothing left).
var progressLine = regexp.MustCompile(`\r\x1b\[Kreplay (\d)/(\d) ([^:]+): (?:\d+% of [0-9.]+s|[0-9.]+m?s read), (?:starting|([0-9.]+)x real time(?:, ([0-9.]+s|[0-9]+m[0-9]+s) left)?)`)

// TestReplayProgressOnATerminal replays two files with stderr on a
// terminal: one line, redrawn in place, tells the file, the percent of its
// media time, the speed and the time left; the summary of each file ends
// the run, with the progress line erased.
func TestReplayProgressOnATerminal(t *testing.T) {
	demo, _ := demoClip(t)
	offer := offerClip(t)
	out, code := runOnTerminal(t, "replay", demo, offer, "--ocr-workers", "1")
	require.Equal(t, 0, code, out)

	seen := map[string]bool{}
	timed := false // a drawing with the speed and the time left
	for _, m := range progressLine.FindAllStringSubmatch(out, -1) {
		require.Equal(t, "2", m[2])
		seen[m[1]+" "+m[3]] = true
		timed = timed || m[4] != "" && m[5] != ""
	}
	require.True(t, timed, "speed and time left: %q", out)
	require.True(t, seen["1 demo.mp4"], "progress of file 1 of 2: %q", out)
	require.True(t, seen["2 "+filepath.Base(offer)], "progress of file 2 of 2: %q", out)

	// Logs and alerts are written above the line: each goes after an erase.
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "ALERT "); i > 0 {
			require.True(t, strings.HasSuffix(l[:i], "\r\x1b[K"), "an alert line after the progress line was erased: %q", l)
		}
	}
	tail := out[strings.LastIndex(out, "\r\x1b[K")+len("\r\x1b[K"):]
	require.NotContains(t, tail, "replay 2/2", "the progress line is erased at the end")
	summaries := regexp.MustCompile(`replay summary: (\S+): [0-9.]+s of media in [0-9.]+m?s \(([0-9.]+)x real time\); (\d) alerts? \(high (\d), medium 0, low 0\); unwatched: none`).FindAllStringSubmatch(tail, -1)
	require.Len(t, summaries, 2, "tail: %q", tail)
	require.Equal(t, demo, summaries[0][1])
	require.Equal(t, "3", summaries[0][3])
	require.Equal(t, offer, summaries[1][1])
	require.Equal(t, "1", summaries[1][3])
}

// TestReplayJSONLogOnATerminalShowsNoProgress replays with a JSON log on a
// terminal: every line stays a JSON object, so no progress line is drawn.
func TestReplayJSONLogOnATerminalShowsNoProgress(t *testing.T) {
	out, code := runOnTerminal(t, "replay", offerClip(t), "--log-format", "json")
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "\x1b")
	lines := stderrLines(strings.ReplaceAll(out, "\r\n", "\n"))
	for _, l := range lines {
		require.True(t, json.Valid([]byte(l)), "a line that is no JSON: %q", l)
	}
	require.Contains(t, lines[len(lines)-1], `"msg":"replay summary"`)
}

// TestReplayWithoutATerminalShowsNoProgress replays with stderr on a pipe:
// no progress at all, and the summary at the end.
func TestReplayWithoutATerminalShowsNoProgress(t *testing.T) {
	offer := offerClip(t)
	r := runBin(t, 3*time.Minute, "", "replay", offer)
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, "\r")
	require.NotContains(t, r.stderr, "\x1b")
	require.NotRegexp(t, `replay 1/1 `, r.stderr)
	lines := stderrLines(r.stderr)
	require.Regexp(t, `^replay summary: `+regexp.QuoteMeta(offer)+`: 10s of media in .*; 1 alert \(high 1, medium 0, low 0\); unwatched: none$`, lines[len(lines)-1])
}

// TestReplaySummaryAsJSON replays with --log-format json: the summary is a
// log entry per file with the figures as attributes.
func TestReplaySummaryAsJSON(t *testing.T) {
	demo, _ := demoClip(t)
	r := runBin(t, 3*time.Minute, "", "replay", demo, "--log-format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	lines := stderrLines(r.stderr)
	var entry struct {
		Msg        string         `json:"msg"`
		File       string         `json:"file"`
		DurationMS int64          `json:"duration_ms"`
		ElapsedMS  int64          `json:"elapsed_ms"`
		Speed      float64        `json:"speed"`
		Alerts     int            `json:"alerts"`
		BySeverity map[string]int `json:"alerts_by_severity"`
		Spans      *int           `json:"unwatched_spans"`
		Unwatched  *int64         `json:"unwatched_ms"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &entry), lines[len(lines)-1])
	require.Equal(t, "replay summary", entry.Msg)
	require.Equal(t, demo, entry.File)
	require.InDelta(t, 34000, entry.DurationMS, 100)
	require.Positive(t, entry.ElapsedMS)
	require.Positive(t, entry.Speed)
	require.Equal(t, 3, entry.Alerts)
	require.Equal(t, map[string]int{"high": 3, "medium": 0, "low": 0}, entry.BySeverity)
	require.NotNil(t, entry.Spans)
	require.Zero(t, *entry.Spans)
	require.NotNil(t, entry.Unwatched)
	require.Zero(t, *entry.Unwatched)
}
