package main

import (
	"bufio"
	"context"
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

// reloadRules is a rules file with one brand and an offer rule called id.
func reloadRules(brand, name, id string) string {
	return `
brands: [{id: ` + brand + `, names: [` + name + `]}]
phrases: [{id: replica, terms: [replica]}]
rules: [{id: ` + id + `, severity: high, require: [brand, phrase]}]
`
}

// writeAtomically replaces path, so that a poll never reads half a file.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// TestWatchReloadsRules changes the rules file under a running watch: a
// broken file is refused and the old rules go on matching; a good one,
// announced with SIGHUP, is used from the next frames on.
func TestWatchReloadsRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	clip := testutil.Generate(t, clipgen.Clip{
		Name: "long", DurationMS: 16000, Background: "testsrc2",
		Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: 1000, EndMS: 15500, Size: 48, Box: "black@0.6"}},
	})
	rules := filepath.Join(dir, "rules.yaml")
	writeAtomically(t, rules, reloadRules("gucci", "Gucci", "old-offer"))
	srv := testutil.NATSServer(t)
	out := filepath.Join(dir, "alerts.jsonl")

	cmd := exec.CommandContext(ctx, binary, "watch", clip, "--realtime", "--nats", srv.ClientURL(),
		"--stream-id", "reload", "--metrics-addr", "", "--rules", rules, "--out", out)
	cmd.Env = append(os.Environ(), "NATS_URL=")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	lines := make(chan string, 1000)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(parts ...string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "watch ended before a line with %q; stderr:\n%s", parts, all.String())
				all.WriteString(l + "\n")
				if !slicesContainAll(l, parts) {
					continue
				}
				return
			case <-ctx.Done():
				t.Fatalf("no line with %q; stderr:\n%s", parts, all.String())
			}
		}
	}

	waitFor("ALERT open", "rule=old-offer")
	writeAtomically(t, rules, "rules: [\n") // broken: found by polling
	waitFor("rules reload refused", "rules.yaml")
	time.Sleep(2500 * time.Millisecond) // the old rules go on matching meanwhile
	writeAtomically(t, rules, reloadRules("bag", "bag", "new-offer"))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitFor("rules reloaded")
	waitFor("ALERT open", "rule=new-offer")
	for l := range lines {
		all.WriteString(l + "\n")
	}
	require.NoError(t, cmd.Wait(), all.String())

	var old, cur int
	for _, r := range readRecords(t, out) {
		switch {
		case r.Rule == "old-offer" && r.State == "closed":
			old++
			// it held through the refused file until the new rules came
			require.GreaterOrEqual(t, r.EndMS-r.StartMS, int64(2000), "%+v", r)
		case r.Rule == "new-offer":
			cur++
		}
	}
	require.Equal(t, 1, old)
	require.NotZero(t, cur)
}

func slicesContainAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
