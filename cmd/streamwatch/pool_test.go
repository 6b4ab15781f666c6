package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/monitor"
	"github.com/streamwatch/streamwatch/pool"
)

// poolWorker is a `streamwatch worker` child process.
type poolWorker struct {
	id      string
	cmd     *exec.Cmd
	stderr  *testutil.SyncBuffer
	mu      sync.Mutex
	metrics string
	exited  chan struct{}
	exitAt  time.Time
}

// startPoolWorker starts `streamwatch worker` with one OCR worker, metrics on
// a free port, its own outbox, and extra flags.
func startPoolWorker(t *testing.T, natsURL, id string, capacity int, extra ...string) *poolWorker {
	t.Helper()
	w := &poolWorker{id: id, stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	args := []string{"worker", "--nats", natsURL, "--worker-id", id, "--capacity", fmt.Sprint(capacity),
		"--metrics-addr", "127.0.0.1:0", "--ocr-workers", "1", "--outbox-dir", t.TempDir()}
	w.cmd = exec.Command(binary, append(args, extra...)...)
	w.cmd.Env = append(os.Environ(), "NATS_URL=", "OMP_THREAD_LIMIT=1")
	pw, scanned := teeStderr(w.cmd, w.stderr, func(addr string) { w.mu.Lock(); w.metrics = addr; w.mu.Unlock() })
	require.NoError(t, w.cmd.Start())
	go func() {
		_ = w.cmd.Wait()
		w.mu.Lock()
		w.exitAt = time.Now()
		w.mu.Unlock()
		pw.Close()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
		<-scanned
		if t.Failed() {
			t.Logf("worker %s stderr:\n%s", id, w.stderr.String())
		}
	})
	return w
}

// exitedAfter waits up to 15 s for the worker to exit (after SIGTERM at
// since) and returns how long after since it did.
func (w *poolWorker) exitedAfter(t *testing.T, since time.Time) time.Duration {
	t.Helper()
	select {
	case <-w.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("worker %s still running 15 s after SIGTERM", w.id)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.exitAt.Sub(since)
}

func (w *poolWorker) get(t *testing.T, path string) (int, string) {
	w.mu.Lock()
	addr := w.metrics
	w.mu.Unlock()
	if addr == "" {
		return 0, ""
	}
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// attachLog collects the attached and ended status events of all streams.
type attachLog struct {
	mu     sync.Mutex
	active map[string]int       // stream → monitors running it, by status events
	last   map[string]time.Time // stream → last attached
	twice  []string
	// pushedRule: an alert of the rule pushed during the test was seen.
	pushedRule map[string]bool
}

func (a *attachLog) attachedSince(ids []string, since time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if !a.last[id].After(since) {
			return false
		}
	}
	return true
}

// forget drops the monitors of a killed worker, which say no "ended".
func (a *attachLog) forget(ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		a.active[id]--
	}
}

func (a *attachLog) lastAttach(ids []string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var t time.Time
	for _, id := range ids {
		if a.last[id].After(t) {
			t = a.last[id]
		}
	}
	return t
}

// newAttachLog follows the status events the monitors publish.
func newAttachLog(t *testing.T, nc *nats.Conn) *attachLog {
	log := &attachLog{active: map[string]int{}, last: map[string]time.Time{}, pushedRule: map[string]bool{}}
	_, err := nc.Subscribe("streamwatch.streams.*.status", func(m *nats.Msg) {
		var s monitor.StreamStatus
		if json.Unmarshal(m.Data, &s) != nil {
			return
		}
		log.mu.Lock()
		defer log.mu.Unlock()
		switch ingest.State(s.State) {
		case ingest.StateAttached:
			log.active[s.StreamID]++
			log.last[s.StreamID] = time.Now()
			if log.active[s.StreamID] > 1 {
				log.twice = append(log.twice, s.StreamID)
			}
		case ingest.StateEnded:
			log.active[s.StreamID]--
		}
	})
	require.NoError(t, err)
	return log
}

// holders returns, from the streams bucket, the worker of each watched stream.
func holders(t *testing.T, s *pool.Store) map[string]string {
	streams, _, err := s.Status(context.Background())
	require.NoError(t, err)
	m := map[string]string{}
	for _, e := range streams {
		if e.State == pool.StateWatching {
			m[e.StreamID] = e.Worker
		}
	}
	return m
}

func heldBy(m map[string]string, worker string) []string {
	var ids []string
	for id, w := range m {
		if w == worker {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestPoolFailoverAndDrain runs a real nats-server and three worker
// processes that share six streams (a clip played as live with --realtime):
// streams beyond capacity wait until a worker is added; a worker killed with
// SIGKILL loses its streams to the others when their leases lapse; a worker
// sent SIGTERM hands its streams over at once and exits within 10 s. No
// stream is ever watched by two monitors at once.
func TestPoolFailoverAndDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("pool test runs for about a minute")
	}
	n := &natsProcess{t: t, port: freePort(t), store: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)

	clip := testutil.Generate(t, clipgen.Clip{Name: "pool", Width: 360, Height: 640, FPS: 10,
		DurationMS: 180000, Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: 1000, EndMS: 179000, Size: 32, Box: "black@0.6"}}})

	nc := testutil.Connect(t, n.url())
	log := newAttachLog(t, nc)
	_, err := nc.Subscribe("streamwatch.alerts.*", func(m *nats.Msg) {
		var r alerts.Record
		if json.Unmarshal(m.Data, &r) == nil && r.Rule == "pushed-offer" {
			log.mu.Lock()
			log.pushedRule[r.StreamID] = true
			log.mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	store, err := pool.Open(ctx, nc, 0)
	cancel()
	require.NoError(t, err)

	// One worker with room for four: two of the six wait.
	paced := func(id string, capacity int) *poolWorker {
		return startPoolWorker(t, n.url(), id, capacity, "--realtime", "--sample-interval", "2s", "--evidence-dir", t.TempDir())
	}
	w1 := paced("w1", 4)
	ids := []string{"p1", "p2", "p3", "p4", "p5", "p6"}
	for _, id := range ids {
		r := runBin(t, 30*time.Second, "", "submit", clip, "--stream-id", id, "--nats", n.url())
		require.Equal(t, 0, r.code, r.stderr)
	}
	r := runBin(t, 30*time.Second, "", "submit", clip, "--stream-id", "p1", "--nats", n.url())
	require.Equal(t, 1, r.code, "a stream already submitted is refused")
	require.Contains(t, r.stderr, "already submitted")
	require.Eventually(t, func() bool { return len(holders(t, store)) == 4 }, 30*time.Second, 200*time.Millisecond)
	time.Sleep(3 * time.Second)
	require.Len(t, holders(t, store), 4, "beyond capacity stays queued")
	_, metrics := w1.get(t, "/metrics")
	require.Contains(t, metrics, "streamwatch_pool_assignments 4")
	require.Contains(t, metrics, "streamwatch_pool_capacity 4")

	w2 := paced("w2", 6)
	require.Eventually(t, func() bool { return len(holders(t, store)) == 6 }, 30*time.Second, 200*time.Millisecond,
		"the queued streams start when a worker is added")
	w3 := paced("w3", 6)
	require.Eventually(t, func() bool { return log.attachedSince(ids, time.Time{}) }, 60*time.Second, 200*time.Millisecond,
		"all six attached")
	require.Eventually(t, func() bool {
		r = runBin(t, 30*time.Second, "", "status", "--nats", n.url())
		require.Equal(t, 0, r.code, r.stderr)
		return regexp.MustCompile(`(?m)^w3 +0 +6 `).MatchString(r.stdout)
	}, 20*time.Second, 500*time.Millisecond, "w3 heartbeats")
	t.Logf("status:\n%s", r.stdout)
	require.NotContains(t, r.stdout, "queued")

	// kill -9: the lease lapses after the ack wait and the others take over.
	killed := heldBy(holders(t, store), "w1")
	require.Len(t, killed, 4)
	killAt := time.Now()
	require.NoError(t, w1.cmd.Process.Signal(syscall.SIGKILL))
	<-w1.exited
	log.forget(killed)
	require.Eventually(t, func() bool {
		h := holders(t, store)
		for _, id := range killed {
			if h[id] == "w1" || h[id] == "" {
				return false
			}
		}
		return log.attachedSince(killed, killAt)
	}, 40*time.Second, 100*time.Millisecond, "the killed worker's streams are watched again")
	reattach := log.lastAttach(killed).Sub(killAt)
	t.Logf("kill -9 → all %d streams re-attached on other workers in %s", len(killed), reattach.Round(100*time.Millisecond))
	require.Less(t, reattach, 30*time.Second)

	// SIGTERM: /readyz goes unready, the streams move at once, exit within 10 s.
	h := holders(t, store)
	drained, other := w2, w3
	if len(heldBy(h, "w3")) > len(heldBy(h, "w2")) {
		drained, other = w3, w2
	}
	moved := heldBy(h, drained.id)
	require.NotEmpty(t, moved)
	code, _ := drained.get(t, "/readyz")
	require.Equal(t, http.StatusOK, code)
	termAt := time.Now()
	require.NoError(t, drained.cmd.Process.Signal(syscall.SIGTERM))
	// /readyz answers 503 while the worker drains (it may be gone already).
	sawUnready := false
	for !sawUnready && time.Since(termAt) < 5*time.Second {
		if c, _ := drained.get(t, "/readyz"); c == http.StatusServiceUnavailable {
			sawUnready = true
		}
		if waitOrExit(drained.exited, 10*time.Millisecond) {
			break
		}
	}
	require.Eventually(t, func() bool {
		hh := holders(t, store)
		for _, id := range moved {
			if hh[id] != other.id {
				return false
			}
		}
		return log.attachedSince(moved, termAt)
	}, 20*time.Second, 50*time.Millisecond, "the drained worker's streams move")
	handoff := log.lastAttach(moved).Sub(termAt)
	exitAfter := drained.exitedAfter(t, termAt)
	t.Logf("SIGTERM → %d streams re-attached on %s in %s; worker exited after %s (readyz 503 seen: %v)",
		len(moved), other.id, handoff.Round(10*time.Millisecond), exitAfter.Round(10*time.Millisecond), sawUnready)
	require.Less(t, handoff, 10*time.Second)
	require.Less(t, exitAfter, 10*time.Second)
	require.Equal(t, 0, drained.cmd.ProcessState.ExitCode(), drained.stderr.String())
	require.Contains(t, drained.stderr.String(), "stream handed back")

	_, metrics = other.get(t, "/metrics")
	require.Contains(t, metrics, "streamwatch_pool_assignments 6")
	renewed := regexp.MustCompile(`(?m)^streamwatch_pool_lease_renewals_total [1-9]`)
	require.Eventually(t, func() bool { _, m := other.get(t, "/metrics"); return renewed.MatchString(m) },
		15*time.Second, 500*time.Millisecond, "leases renewed with in-progress acks")

	// Rules pushed while the pool runs: every stream takes them up without
	// restarting (no new attach), and they match.
	rulesFile := filepath.Join(t.TempDir(), "pushed.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte("brands: [oops"), 0o644))
	r = runBin(t, 30*time.Second, "", "rules", "push", rulesFile, "--nats", n.url())
	require.Equal(t, 1, r.code, "invalid rules are not pushed")
	require.NoError(t, os.WriteFile(rulesFile, []byte(reloadRules("bag", "bag", "pushed-offer")), 0o644))
	attachedBefore := log.lastAttach(ids)
	pushAt := time.Now()
	r = runBin(t, 30*time.Second, "", "rules", "push", rulesFile, "--nats", n.url())
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "pushed as revision 1")
	require.Eventually(t, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, id := range ids {
			if !log.pushedRule[id] {
				return false
			}
		}
		return true
	}, 60*time.Second, 200*time.Millisecond, "an alert of the pushed rule on each stream")
	t.Logf("rules push → an alert of the pushed rule on all six streams after %s", time.Since(pushAt).Round(100*time.Millisecond))
	require.Equal(t, attachedBefore, log.lastAttach(ids), "no stream restarted")
	require.Eventually(t, func() bool {
		r = runBin(t, 30*time.Second, "", "status", "--nats", n.url())
		return regexp.MustCompile(`(?m)^` + other.id + ` .* rev 1\s*$`).MatchString(r.stdout)
	}, 10*time.Second, 500*time.Millisecond, "status shows the worker's rules revision")

	// stop: the holder stops the monitor and forgets the stream.
	r = runBin(t, 30*time.Second, "", "stop", "p1", "--nats", n.url())
	require.Equal(t, 0, r.code, r.stderr)
	require.Eventually(t, func() bool { _, ok := holders(t, store)["p1"]; return !ok }, 10*time.Second, 100*time.Millisecond)

	log.mu.Lock()
	require.Empty(t, log.twice, "a stream watched by two monitors at once")
	log.mu.Unlock()
}

// waitOrExit waits d and tells whether exited closed meanwhile.
func waitOrExit(exited <-chan struct{}, d time.Duration) bool {
	select {
	case <-exited:
		return true
	case <-time.After(d):
		return false
	}
}
