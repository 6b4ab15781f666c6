package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runMeasured is runBin with stdin from a reader; it also returns the
// child's peak resident memory, in bytes.
func runMeasured(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "NATS_URL=", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	cmd.Stdin = stdin
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "timed out; stderr: %s", se.String())
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	require.True(t, ok)
	return result{code, so.String(), se.String()}, ru.Maxrss * 1024 // Linux: KiB
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
		start := time.Now()
		r, rss := runMeasured(t, time.Minute, strings.NewReader("Gucci\n"), args...)
		require.Equal(t, 1, r.code, r.stderr)
		require.Equal(t, "streamwatch: rules "+huge+": 52428884 bytes, larger than the maximum of 8388608 (8 MiB)\n", r.stderr, args)
		require.Empty(t, r.stdout)
		require.Less(t, time.Since(start), 10*time.Second, args)
		require.Less(t, rss, int64(200<<20), args) // the binary alone: 75 MB
	}
	for _, args := range [][]string{{"rules", "check", long}, {"match", "--rules", long}} {
		r, _ := runMeasured(t, time.Minute, strings.NewReader("Gucci\n"), args...)
		require.Equal(t, 1, r.code, r.stderr)
		require.Equal(t, "streamwatch: rules "+long+": line 5: brands[0].names[1]: 300 characters, longer than the maximum of 256\n", r.stderr, args)
	}
}
