package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

// startWatchProcess starts a watch process of the binary; its stderr goes to the
// returned buffer.
func startWatchProcess(t *testing.T, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"watch"}, args...)...)
	cmd.Env = append(os.Environ(), "NATS_URL=")
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // the test failed before waiting for it
			_ = cmd.Wait()         // killed: the status says nothing
		}
	})
	return cmd, stderr
}

// exitCode waits for cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// TestTwoWatchersShareAnOutboxRoot runs two watch processes with one
// --outbox-dir through an outage of a real nats-server: each keeps its
// records in a directory of its own, and JetStream ends up with all records
// of both streams.
func TestTwoWatchersShareAnOutboxRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 30 s")
	}
	dir := t.TempDir()
	clip := testutil.Generate(t, clipgen.Clip{Name: "shared-outbox", DurationMS: 20000, Background: "smptebars", FPS: 15,
		Captions: []clipgen.Caption{
			boxedCaption("GUCCI bag 1:1 replica", 1000, 4000),
			boxedCaption("PRADA wallet super copy", 8000, 11000),
			boxedCaption("ROLEX watch AAA quality", 15000, 18000),
		}})
	srv := &natsProcess{t: t, port: freePort(t), store: filepath.Join(dir, "store")}
	srv.start()
	defer srv.stop()

	root := filepath.Join(dir, "outbox")
	ids := []string{"shop_a", "shop_b"}
	cmds := make([]*exec.Cmd, len(ids))
	errs := make([]*testutil.SyncBuffer, len(ids))
	outs := make([]string, len(ids))
	for i, id := range ids {
		outs[i] = filepath.Join(dir, id+".jsonl")
		cmds[i], errs[i] = startWatchProcess(t, clip, "--realtime", "--nats", srv.url(), "--stream-id", id,
			"--metrics-addr", "", "--out", outs[i], "--outbox-dir", root)
	}
	for _, out := range outs {
		waitForLines(t, out, 1, time.Minute) // the first open record went to NATS
	}
	srv.stop()
	for _, out := range outs {
		waitForLines(t, out, 3, time.Minute) // two more went to the outbox
	}
	srv.start()
	for i, cmd := range cmds {
		require.Equal(t, 0, exitCode(t, cmd), errs[i].String())
		require.Contains(t, errs[i].String(), "keeping the record in the outbox", "the outage was felt")
	}
	for i, id := range ids {
		want := readRecords(t, outs[i])
		got, _ := storedRecords(t, srv.url(), id)
		require.Equal(t, want, got, "every record of %s once, in order", id)
	}
	left, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, left, "the directories of both processes went once empty")
}

// TestOutboxLeftoversGoOnlyToTheirServer leaves records in the outbox root
// when a real nats-server goes for good (the watch exits 1 and says how many
// and where), keeps them through later runs against another server and an
// embedded one, and sends them when a process connects to that server again.
func TestOutboxLeftoversGoOnlyToTheirServer(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 40 s")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "outbox")
	a := &natsProcess{t: t, port: freePort(t), store: filepath.Join(dir, "a")}
	a.start()
	defer a.stop()

	out := filepath.Join(dir, "gone.jsonl")
	cmd, stderr := startWatchProcess(t, offerClip(t), "--realtime", "--nats", a.url(), "--stream-id", "gone",
		"--metrics-addr", "", "--out", out, "--outbox-dir", root)
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "msg=attached") }, time.Minute, 50*time.Millisecond)
	a.stop() // before the caption at 3 s: every record goes to the outbox
	require.Equal(t, 1, exitCode(t, cmd), stderr.String())
	want := readRecords(t, out)
	require.NotEmpty(t, want)
	last := lastLine(stderr.String())
	require.Contains(t, last, fmt.Sprintf("%d records not sent", len(want)))
	require.Contains(t, last, root)

	// Another real server, then a throw-away embedded one: neither takes them.
	b := testutil.NATSServer(t)
	r := runBin(t, 2*time.Minute, "", "replay", offerClip(t), "--nats", b.ClientURL(), "--stream-id", "other", "--outbox-dir", root)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "meant for other NATS servers")
	onB, _ := storedRecords(t, b.ClientURL(), "gone")
	require.Empty(t, onB, "the leftovers were meant for another server")
	r = runBin(t, 2*time.Minute, "", "watch", offerClip(t), "--stream-id", "emb", "--metrics-addr", "", "--outbox-dir", root)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "embedded NATS")
	require.Contains(t, r.stderr, "meant for other NATS servers")

	// The server is back on its URL: the next process sends them first.
	a.start()
	r = runBin(t, 2*time.Minute, "", "replay", offerClip(t), "--nats", a.url(), "--stream-id", "back", "--outbox-dir", root)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "sending them first")
	got, _ := storedRecords(t, a.url(), "gone")
	require.Equal(t, want, got)
	left, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, left)
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
