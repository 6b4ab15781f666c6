package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// flaky is a sink that can be switched off, like NATS going away.
type flaky struct {
	mu   sync.Mutex
	down bool
	got  []Record
}

func (f *flaky) Publish(ctx context.Context, r Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("nats: no servers available")
	}
	f.got = append(f.got, r)
	return nil
}

func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flaky) records() []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Record(nil), f.got...)
}

func rec(id string, state State, rev int) Record {
	return Record{SchemaVersion: 1, AlertID: id, Revision: rev, State: state, StreamID: "s", Brands: []string{}, Phrases: []string{}, Evidence: []Evidence{}}
}

func TestOutboxKeepsOrderThroughAnOutage(t *testing.T) {
	next := &flaky{}
	ob, err := OpenOutbox(OutboxOptions{Dir: t.TempDir(), Retry: 10 * time.Millisecond}, next)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()

	ctx2 := context.Background()
	require.NoError(t, ob.Publish(ctx2, rec("a", StateOpen, 0))) // sent directly
	next.set(true)
	for i := 1; i <= 5; i++ {
		require.NoError(t, ob.Publish(ctx2, rec("a", StateUpdate, i))) // on disk
	}
	require.Equal(t, 5, ob.Len())
	next.set(false)
	require.NoError(t, ob.Publish(ctx2, rec("a", StateClosed, 6))) // behind the waiting ones
	require.Eventually(t, func() bool { return ob.Len() == 0 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	ob.Close()
	got := next.records()
	require.Len(t, got, 7)
	for i, r := range got {
		require.Equal(t, i, r.Revision, "in order")
	}
}

// serverA is a NATS server without a configured name (its name is its id).
var serverA = OutboxServer{Name: "NAAA", ID: "NAAA", URL: "nats://127.0.0.1:4222"}

func TestOutboxSurvivesARestart(t *testing.T) {
	root := t.TempDir()
	next := &flaky{down: true}
	ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA}, next)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, ob.Publish(context.Background(), rec("b", StateUpdate, i)))
	}
	// The process goes, the files stay. A new process for the same server
	// (restarted: a new id) drains them.
	ob.Close()
	up := &flaky{}
	restarted := serverA
	restarted.Name, restarted.ID = "NBBB", "NBBB"
	ob2, err := OpenOutbox(OutboxOptions{Dir: root, Server: restarted}, up)
	require.NoError(t, err)
	require.Equal(t, 3, ob2.Len())
	require.NoError(t, ob2.Flush(context.Background()))
	require.Len(t, up.records(), 3)
	ob2.Close()
	names, _ := filepath.Glob(filepath.Join(root, "*"))
	require.Empty(t, names, "no directory left behind")
}

// leftover makes the directory an earlier run for srv left in root, with files.
func leftover(t *testing.T, root string, srv OutboxServer, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(root, "20260101T000000Z-1-1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, outboxLockFile), nil, 0o644))
	data, err := json.Marshal(srv)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, outboxServerFile), data, 0o644))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

func TestOutboxServerSame(t *testing.T) {
	named := OutboxServer{Name: "nats-1", ID: "NXXX", URL: "nats://a:4222"}
	cases := []struct {
		name string
		a, b OutboxServer
		same bool
	}{
		{"unnamed server restarted on its URL", serverA, OutboxServer{Name: "NB", ID: "NB", URL: serverA.URL}, true},
		{"unnamed server elsewhere", serverA, OutboxServer{Name: "NB", ID: "NB", URL: "nats://127.0.0.1:5222"}, false},
		{"named server at another URL", named, OutboxServer{Name: "nats-1", ID: "NYYY", URL: "nats://b:4222"}, true},
		{"another named server on the URL", named, OutboxServer{Name: "nats-2", ID: "NYYY", URL: named.URL}, false},
		{"one cluster, another server", OutboxServer{Name: "n1", ID: "N1", Cluster: "c"}, OutboxServer{Name: "n2", ID: "N2", Cluster: "c"}, true},
		{"another cluster", OutboxServer{Name: "n1", ID: "N1", Cluster: "c"}, OutboxServer{Name: "n1", ID: "N1", Cluster: "d"}, false},
		{"embedded, same URL", OutboxServer{Name: "E", ID: "E", URL: serverA.URL, Embedded: true}, serverA, false},
		{"to embedded", serverA, OutboxServer{Name: "NAAA", ID: "NAAA", URL: serverA.URL, Embedded: true}, false},
		{"nothing known", OutboxServer{}, OutboxServer{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.same, c.a.Same(c.b))
			require.Equal(t, c.same, c.b.Same(c.a))
		})
	}
}

func TestOutboxLeftoversGoOnlyToTheirServer(t *testing.T) {
	root := t.TempDir()
	dir := leftover(t, root, serverA, map[string]string{
		"00000000000000000001-open.json":   `{"alert_id":"x","state":"open"}`,
		"00000000000000000002-closed.json": `{"alert_id":"x","state":"closed"}`,
	})
	for _, other := range []OutboxServer{
		{Name: "NB", ID: "NB", URL: "nats://127.0.0.1:5222"},
		{Name: "NA", ID: "NA", URL: serverA.URL, Embedded: true},
	} {
		var logs bytes.Buffer
		up := &flaky{}
		ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: other, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, up)
		require.NoError(t, err)
		require.Equal(t, 0, ob.Len(), other.String())
		require.NoError(t, ob.Flush(context.Background()))
		ob.Close()
		require.Empty(t, up.records())
		require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
		require.Contains(t, logs.String(), "meant for other NATS servers")
		require.Contains(t, logs.String(), "records=2")
		require.Contains(t, logs.String(), serverA.URL)
	}
	up := &flaky{}
	ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: OutboxServer{Name: "NC", ID: "NC", URL: serverA.URL}}, up)
	require.NoError(t, err)
	require.NoError(t, ob.Flush(context.Background()))
	ob.Close()
	require.Len(t, up.records(), 2)
	require.NoDirExists(t, dir)
}

func TestOutboxLeavesARunningProcessAlone(t *testing.T) {
	root := t.TempDir()
	first, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA}, &flaky{down: true})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, first.Publish(context.Background(), rec("a", StateUpdate, i)))
	}
	up := &flaky{}
	second, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA}, up)
	require.NoError(t, err)
	require.NotEqual(t, first.Dir(), second.Dir())
	require.Equal(t, 0, second.Len(), "the first one's directory is locked")
	require.NoError(t, second.Publish(context.Background(), rec("b", StateOpen, 0)))
	second.Close()
	require.NoDirExists(t, second.Dir(), "an empty directory goes at Close")
	require.Equal(t, 3, first.Len())
	fctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = first.Flush(fctx)
	require.ErrorIs(t, err, ErrOutboxLeft)
	require.Contains(t, err.Error(), "3 records")
	require.Contains(t, err.Error(), first.Dir())
	first.Close()
	require.DirExists(t, first.Dir(), "records stay for the next start")
}

func TestOutboxOverflowDropsUpdatesFirst(t *testing.T) {
	next := &flaky{down: true}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "d", Help: "d"})
	ob, err := OpenOutbox(OutboxOptions{Dir: t.TempDir(), MaxRecords: 3, Dropped: dropped}, next)
	require.NoError(t, err)
	ctx := context.Background()
	sent := []Record{
		rec("a", StateOpen, 0), rec("a", StateUpdate, 1), rec("a", StateUpdate, 2),
		rec("a", StateUpdate, 3), rec("b", StateOpen, 0), rec("a", StateClosed, 4),
		rec("b", StateUpdate, 1), rec("b", StateClosed, 2),
	}
	for _, r := range sent {
		require.NoError(t, ob.Publish(ctx, r))
	}
	require.Equal(t, 4.0, testutil.ToFloat64(dropped), "every update went, none of the others")
	next.set(false)
	require.NoError(t, ob.Flush(ctx))
	var states []string
	for _, r := range next.records() {
		states = append(states, r.AlertID+":"+string(r.State))
	}
	require.Equal(t, []string{"a:open", "b:open", "a:closed", "b:closed"}, states)
}

func TestOutboxSkipsACorruptFile(t *testing.T) {
	root := t.TempDir()
	leftover(t, root, serverA, map[string]string{
		"00000000000000000001-open.json":   "{not json",
		"00000000000000000002-closed.json": `{"alert_id":"x","state":"closed"}`,
	})
	up := &flaky{}
	ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA}, up)
	require.NoError(t, err)
	require.NoError(t, ob.Flush(context.Background()))
	require.Len(t, up.records(), 1)
	require.Equal(t, "x", up.records()[0].AlertID)
	// New records go to this process's own directory.
	up.set(true)
	require.NoError(t, ob.Publish(context.Background(), rec("y", StateOpen, 0)))
	names, _ := filepath.Glob(filepath.Join(ob.Dir(), "*-*.json"))
	require.Equal(t, []string{filepath.Join(ob.Dir(), "00000000000000000001-open.json")}, names)
	ob.Close()
}

func TestOutboxLogsWhatItCannotRemove(t *testing.T) {
	root := t.TempDir()
	// A leftover of an interrupted write that will not go: a directory with
	// something in it (a file would go, even for root).
	dir := leftover(t, root, serverA, map[string]string{
		"00000000000000000002-closed.json.tmp": "{",
		"00000000000000000003-closed.json":     `{"alert_id":"x","state":"closed"}`,
	})
	stuck := filepath.Join(dir, "00000000000000000001-open.json.tmp")
	require.NoError(t, os.MkdirAll(filepath.Join(stuck, "x"), 0o755))
	var logs bytes.Buffer
	ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &flaky{down: true})
	require.NoError(t, err)
	defer ob.Close()
	require.Contains(t, logs.String(), "outbox file not removed")
	require.Contains(t, logs.String(), stuck)
	require.NoFileExists(t, filepath.Join(dir, "00000000000000000002-closed.json.tmp"), "a plain leftover goes")
}

func TestOpenOutboxNeedsADirectory(t *testing.T) {
	_, err := OpenOutbox(OutboxOptions{}, &flaky{})
	require.ErrorIs(t, err, ErrOutboxDir)
}

func TestOutboxKeepsRecordsOfAnOlderLayout(t *testing.T) {
	root := t.TempDir()
	flat := filepath.Join(root, "00000000000000000001-open.json")
	require.NoError(t, os.WriteFile(flat, []byte(`{"alert_id":"x","state":"open"}`), 0o644))
	var logs bytes.Buffer
	up := &flaky{}
	ob, err := OpenOutbox(OutboxOptions{Dir: root, Server: serverA, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, up)
	require.NoError(t, err)
	require.NoError(t, ob.Flush(context.Background()))
	ob.Close()
	require.Empty(t, up.records())
	require.FileExists(t, flat)
	require.Contains(t, logs.String(), "older streamwatch")
}
