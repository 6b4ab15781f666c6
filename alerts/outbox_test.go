package alerts

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
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
	got := next.records()
	require.Len(t, got, 7)
	for i, r := range got {
		require.Equal(t, i, r.Revision, "in order")
	}
}

func TestOutboxSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	next := &flaky{down: true}
	ob, err := OpenOutbox(OutboxOptions{Dir: dir}, next)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, ob.Publish(context.Background(), rec("b", StateUpdate, i)))
	}
	// A crash: the process goes, the files stay. A new process drains them.
	up := &flaky{}
	ob2, err := OpenOutbox(OutboxOptions{Dir: dir}, up)
	require.NoError(t, err)
	require.Equal(t, 3, ob2.Len())
	require.NoError(t, ob2.Flush(context.Background()))
	require.Len(t, up.records(), 3)
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	require.Empty(t, names)
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
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000000001-open.json"), []byte("{not json"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000000002-closed.json"), []byte(`{"alert_id":"x","state":"closed"}`), 0o644))
	up := &flaky{}
	ob, err := OpenOutbox(OutboxOptions{Dir: dir}, up)
	require.NoError(t, err)
	require.NoError(t, ob.Flush(context.Background()))
	require.Len(t, up.records(), 1)
	require.Equal(t, "x", up.records()[0].AlertID)
	// The next record gets a sequence number after the ones found.
	up.set(true)
	require.NoError(t, ob.Publish(context.Background(), rec("y", StateOpen, 0)))
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	require.Equal(t, []string{filepath.Join(dir, "00000000000000000003-open.json")}, names)
}

func TestOutboxLogsWhatItCannotRemove(t *testing.T) {
	dir := t.TempDir()
	// A leftover of an interrupted write that will not go: a directory with
	// something in it (a file would go, even for root).
	stuck := filepath.Join(dir, "00000000000000000001-open.json.tmp")
	require.NoError(t, os.MkdirAll(filepath.Join(stuck, "x"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000000002-closed.json.tmp"), []byte("{"), 0o644))
	var logs bytes.Buffer
	_, err := OpenOutbox(OutboxOptions{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &flaky{})
	require.NoError(t, err)
	require.Contains(t, logs.String(), "outbox file not removed")
	require.Contains(t, logs.String(), stuck)
	require.NoFileExists(t, filepath.Join(dir, "00000000000000000002-closed.json.tmp"), "a plain leftover goes")
}

func TestOpenOutboxNeedsADirectory(t *testing.T) {
	_, err := OpenOutbox(OutboxOptions{}, &flaky{})
	require.ErrorIs(t, err, ErrOutboxDir)
}
