package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// runMeasured is runBin with stdin from a reader; it also returns the
// child's peak resident memory, in bytes. Linux counts the parent's peak in
// it too (the child starts in the parent's memory until it execs), so
// compare it with baselineRSS.
func runMeasured(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) (result, int64) {
	t.Helper()
	r, st := runBinFrom(t, timeout, stdin, args...)
	ru, ok := st.SysUsage().(*syscall.Rusage)
	require.True(t, ok)
	return r, ru.Maxrss * 1024 // Linux: KiB
}

// baselineRSS is what runMeasured reports for "streamwatch version", plus
// slack: more than that is the child's own doing.
func baselineRSS(t *testing.T) int64 {
	t.Helper()
	r, rss := runMeasured(t, time.Minute, strings.NewReader(""), "version")
	require.Equal(t, 0, r.code, r.stderr)
	return rss + 100<<20
}

// TestRulesFileLimits runs rules check and match on generated rules files
// over the limits: a 50 MB file of one name (2.7 GB and 13.6 GB before the
// limits) is refused from its size, a long name with its line.
func TestRulesFileLimits(t *testing.T) {
	dir := t.TempDir()
	const rule = "rules:\n  - {id: r, severity: low, require: [brand]}\n"
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	require.NoError(t, err)
	_, err = f.WriteString("brands:\n  - id: b\n    names: [")
	require.NoError(t, err)
	chunk := strings.Repeat("x", 1<<20)
	for range 50 {
		_, err = f.WriteString(chunk)
		require.NoError(t, err)
	}
	_, err = f.WriteString("]\n" + rule)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	long := filepath.Join(dir, "long.yaml")
	require.NoError(t, os.WriteFile(long, []byte("brands:\n  - id: b\n    names:\n      - Gucci\n      - "+strings.Repeat("x", 300)+"\n"+rule), 0o644))

	for _, args := range [][]string{{"rules", "check", huge}, {"match", "--rules", huge}} {
		limit := baselineRSS(t)
		start := time.Now()
		r, rss := runMeasured(t, time.Minute, strings.NewReader("Gucci\n"), args...)
		require.Equal(t, 1, r.code, r.stderr)
		require.Equal(t, "streamwatch: rules "+huge+": 52428884 bytes, larger than the maximum of 8388608 (8 MiB)\n", r.stderr, args)
		require.Empty(t, r.stdout)
		require.Less(t, time.Since(start), 10*time.Second, args)
		require.Less(t, rss, limit, args)
	}
	for _, args := range [][]string{{"rules", "check", long}, {"match", "--rules", long}} {
		r, _ := runMeasured(t, time.Minute, strings.NewReader("Gucci\n"), args...)
		require.Equal(t, 1, r.code, r.stderr)
		require.Equal(t, "streamwatch: rules "+long+": line 5: brands[0].names[1]: 300 characters, longer than the maximum of 256\n", r.stderr, args)
	}
}

// TestMatchLongLines feeds match a line of 100 MB (which ended it with
// "bufio.Scanner: token too long", losing the results before) and one a byte
// over the maximum between lines it reads: those are skipped with one message
// each, the others matched.
func TestMatchLongLines(t *testing.T) {
	mib := strings.Repeat("x", 1<<20)
	in := []io.Reader{strings.NewReader("GUCCI 1:1 replica\n")}
	for range 100 {
		in = append(in, strings.NewReader(mib))
	}
	in = append(in,
		strings.NewReader("\n"+strings.Repeat("a", 1<<20)+"\r\n"), // the longest line read
		strings.NewReader(strings.Repeat("b", 1<<20+1)+"\n"),
		strings.NewReader("LV replica")) // no line ending
	limit := baselineRSS(t)
	start := time.Now()
	r, rss := runMeasured(t, time.Minute, io.MultiReader(in...), "match")
	require.Less(t, time.Since(start), 20*time.Second)
	require.Less(t, rss, limit)
	require.Equal(t, 1, r.code, r.stderr)
	require.Equal(t, "streamwatch: match: line 2 skipped: 104857600 bytes, longer than the maximum of 1048576 (1 MiB); no result is written for it\n"+
		"streamwatch: match: line 4 skipped: 1048577 bytes, longer than the maximum of 1048576 (1 MiB); no result is written for it\n"+
		"streamwatch: match: 2 of 5 lines skipped, longer than the maximum of 1048576 bytes\n", r.stderr)
	var texts []string
	for l := range strings.Lines(r.stdout) {
		var got struct {
			Text   string   `json:"text"`
			Brands []string `json:"brands"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &got))
		texts = append(texts, got.Text[:min(len(got.Text), 20)])
	}
	require.Equal(t, []string{"GUCCI 1:1 replica", strings.Repeat("a", 20), "LV replica"}, texts)
}

// TestMatchStopsOnSIGTERM stops match waiting for its next line: it exits at
// once with what it has written (it went on waiting for stdin before).
func TestMatchStopsOnSIGTERM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "match")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close() //nolint:errcheck // closed with the process at the latest
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var se testutil.SyncBuffer
	cmd.Stderr = &se
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "GUCCI 1:1 replica\n")
	require.NoError(t, err)
	first, err := bufio.NewReader(stdout).ReadString('\n') // written while match waits for more
	require.NoError(t, err, se.String())
	require.Contains(t, first, `"brands":["gucci"]`)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	require.NoError(t, ctx.Err(), "match did not exit on SIGTERM")
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 1, ee.ExitCode())
	require.Equal(t, "streamwatch: match: interrupted after line 1; later lines were not matched\n", se.String())
}
