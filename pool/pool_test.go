package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// fakeWatch records which worker watches which stream until it is cancelled.
type fakeWatch struct {
	mu       sync.Mutex
	watching map[string]string // stream → worker
	twice    []string
	causes   map[string]error // stream → why its last watch was cancelled
}

func (f *fakeWatch) for_(worker string) Watcher {
	return WatchFunc(func(ctx context.Context, a Assignment) error {
		f.mu.Lock()
		if _, ok := f.watching[a.StreamID]; ok {
			f.twice = append(f.twice, a.StreamID)
		}
		f.watching[a.StreamID] = worker
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		delete(f.watching, a.StreamID)
		f.causes[a.StreamID] = context.Cause(ctx)
		f.mu.Unlock()
		return ctx.Err()
	})
}

func (f *fakeWatch) by(worker string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, w := range f.watching {
		if w == worker {
			ids = append(ids, id)
		}
	}
	return ids
}

func (f *fakeWatch) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watching)
}

type testPool struct {
	t     *testing.T
	url   string
	store *Store
	watch *fakeWatch
}

func newTestPool(t *testing.T) *testPool {
	p := &testPool{t: t, url: testutil.NATSServer(t).ClientURL(), watch: &fakeWatch{watching: map[string]string{}, causes: map[string]error{}}}
	p.store = p.open()
	return p
}

func (p *testPool) open() *Store {
	nc, err := nats.Connect(p.url)
	require.NoError(p.t, err)
	p.t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, nc, 3*time.Second)
	require.NoError(p.t, err)
	return s
}

// start runs a worker on its own connection; the returned cancel drains it
// and waits.
func (p *testPool) start(id string, capacity int) (*Worker, *Metrics, func()) {
	return p.startWith(id, capacity, nil)
}

func (p *testPool) startWith(id string, capacity int, apply func([]byte) error) (*Worker, *Metrics, func()) {
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWorker(Options{Store: p.open(), ID: id, Capacity: capacity, AckWait: 3 * time.Second,
		FetchWait: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Watcher: p.watch.for_(id), Metrics: m,
		ApplyRules: apply})
	require.NoError(p.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	stop := func() { cancel(); <-done }
	p.t.Cleanup(stop)
	return w, m, stop
}

func (p *testPool) submit(ids ...string) {
	for _, id := range ids {
		require.NoError(p.t, p.store.Submit(context.Background(), Assignment{StreamID: id, URL: "rtmp://user:secret@host/live/" + id}))
	}
}

func TestCapacityQueueAndDrainHandOff(t *testing.T) {
	p := newTestPool(t)
	a, am, stopA := p.start("a", 2)
	p.submit("s1", "s2", "s3", "s4")
	require.Eventually(t, func() bool { return len(p.watch.by("a")) == 2 }, 10*time.Second, 50*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 2, p.watch.count(), "beyond capacity stays queued")
	require.Equal(t, 2, a.Load())

	p.start("b", 3)
	require.Eventually(t, func() bool { return p.watch.count() == 4 }, 10*time.Second, 50*time.Millisecond,
		"the queued streams start when a worker is added")

	// Each worker heartbeats on its own schedule: wait for both to have written.
	var streams []StreamEntry
	require.Eventually(t, func() bool {
		ss, ws, err := p.store.Status(context.Background())
		streams = ss
		return err == nil && len(ws) == 2
	}, 5*time.Second, 50*time.Millisecond, "both workers in status")
	require.Len(t, streams, 4)
	for _, s := range streams {
		require.Equal(t, StateWatching, s.State)
		require.NotContains(t, s.URL, "secret")
	}

	begin := time.Now()
	stopA() // drain: b has room for one more only
	require.Less(t, time.Since(begin), 5*time.Second)
	require.Eventually(t, func() bool { return len(p.watch.by("b")) == 3 }, 2*time.Second, 20*time.Millisecond,
		"a handed back at once, not after the ack wait")
	require.Equal(t, 2.0, testutilValue(am.Handoffs))
	require.False(t, a.Ready())
	require.Empty(t, p.watch.twice)
	handed := 0
	p.watch.mu.Lock()
	for _, c := range p.watch.causes {
		require.ErrorIs(t, c, ErrHandoff, "a drained stream is cancelled as handed over")
		handed++
	}
	p.watch.mu.Unlock()
	require.Equal(t, 2, handed)
}

func TestSubmitTwiceRefusedAndStop(t *testing.T) {
	p := newTestPool(t)
	p.submit("s1")
	err := p.store.Submit(context.Background(), Assignment{StreamID: "s1", URL: "rtmp://h/x"})
	require.ErrorIs(t, err, ErrAlreadyWatched)

	// Stopped while queued: dropped when a worker takes it.
	require.NoError(t, p.store.Stop(context.Background(), "s1"))
	p.submit("s2")
	_, _, _ = p.start("a", 2)
	require.Eventually(t, func() bool { return len(p.watch.by("a")) == 1 }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"s2"}, p.watch.by("a"))

	require.NoError(t, p.store.Stop(context.Background(), "s2"))
	require.Eventually(t, func() bool { return p.watch.count() == 0 }, 5*time.Second, 20*time.Millisecond)
	p.watch.mu.Lock()
	require.ErrorIs(t, p.watch.causes["s2"], errStopped, "a stopped stream is not handed over")
	p.watch.mu.Unlock()
	require.Eventually(t, func() bool {
		s, _, err := p.store.Status(context.Background())
		return err == nil && len(s) == 0
	}, 5*time.Second, 50*time.Millisecond)
	p.submit("s2") // stopped: may be submitted again
	require.Eventually(t, func() bool { return len(p.watch.by("a")) == 1 }, 10*time.Second, 50*time.Millisecond)
}

func TestDeadWorkerLeaseLapses(t *testing.T) {
	p := newTestPool(t)
	// A worker that takes the assignment and then goes silent: its connection
	// closes without a Nak, like a killed process.
	s := p.open()
	p.submit("s1")
	msg, err := s.consumer.Next()
	require.NoError(t, err)
	require.Equal(t, "streamwatch.assign.s1", msg.Subject())
	s.NC.Close()
	begin := time.Now()
	_, m, _ := p.start("b", 1)
	require.Eventually(t, func() bool { return len(p.watch.by("b")) == 1 }, 10*time.Second, 50*time.Millisecond)
	took := time.Since(begin)
	require.Greater(t, took, 2*time.Second, "redelivered only after the ack wait")
	time.Sleep(2 * time.Second)
	require.Greater(t, testutilValue(m.LeaseRenewals), 0.0)
}

func TestPushedRulesReachEveryWorker(t *testing.T) {
	p := newTestPool(t)
	first, err := p.store.PushRules(context.Background(), []byte("v1"))
	require.NoError(t, err)
	var mu sync.Mutex
	got := map[string][]string{}
	applier := func(id string) func([]byte) error {
		return func(b []byte) error {
			if string(b) == "bad" {
				return errors.New("invalid")
			}
			mu.Lock()
			defer mu.Unlock()
			got[id] = append(got[id], string(b))
			return nil
		}
	}
	p.startWith("a", 1, applier("a"))
	p.startWith("b", 1, applier("b"))
	revisions := func() map[string]uint64 {
		_, ws, err := p.store.Status(context.Background())
		require.NoError(t, err)
		m := map[string]uint64{}
		for _, w := range ws {
			m[w.Worker] = w.RulesRevision
		}
		return m
	}
	require.Eventually(t, func() bool {
		r := revisions()
		return r["a"] == first && r["b"] == first
	}, 10*time.Second, 50*time.Millisecond, "the stored rules are taken up at start")

	_, err = p.store.PushRules(context.Background(), []byte("bad"))
	require.NoError(t, err)
	second, err := p.store.PushRules(context.Background(), []byte("v2"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r := revisions()
		return r["a"] == second && r["b"] == second
	}, 10*time.Second, 50*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string][]string{"a": {"v1", "v2"}, "b": {"v1", "v2"}}, got, "bad rules refused")
}

func TestLostLeaseStopsTheStream(t *testing.T) {
	p := newTestPool(t)
	w, m, _ := p.start("a", 1)
	p.submit("s1")
	require.Eventually(t, func() bool { return len(p.watch.by("a")) == 1 }, 10*time.Second, 50*time.Millisecond)
	// The worker's connection goes away for good: renewals fail, and after
	// an ack wait the worker gives the stream up (another may have it now).
	w.o.Store.NC.Close()
	require.Eventually(t, func() bool { return p.watch.count() == 0 }, 10*time.Second, 100*time.Millisecond)
	require.Greater(t, testutilValue(m.LeaseFailures), 0.0)
	require.Equal(t, 0, w.Load())
	p.watch.mu.Lock()
	require.ErrorIs(t, p.watch.causes["s1"], ErrHandoff, "its segments are left for the next worker")
	p.watch.mu.Unlock()
	// The stream is not lost: another worker gets it once the lease lapses.
	p.start("b", 1)
	require.Eventually(t, func() bool { return len(p.watch.by("b")) == 1 }, 15*time.Second, 100*time.Millisecond)
}

func TestStopWhileBeingTakenIsNotUndone(t *testing.T) {
	p := newTestPool(t)
	w, err := NewWorker(Options{Store: p.open(), ID: "a", Capacity: 1, Watcher: p.watch.for_("a"),
		Metrics: NewMetrics(prometheus.NewRegistry())})
	require.NoError(t, err)
	ctx := context.Background()
	a := Assignment{StreamID: "s1", URL: "rtmp://h/live/s1"}

	// The worker read the entry, then the operator stopped the stream before
	// the worker wrote it back as watched: the stop stands.
	p.submit("s1")
	e, err := p.store.entry(ctx, "s1")
	require.NoError(t, err)
	require.NoError(t, p.store.Stop(ctx, "s1"))
	require.False(t, w.claim(a, e, true))
	_, err = p.store.Streams.Get(ctx, "s1")
	require.Error(t, err, "the stopped stream's entry is not written back")

	// Rewritten meanwhile (a drained worker marking it queued): claimed.
	p.submit("s2")
	a.StreamID = "s2"
	e, err = p.store.entry(ctx, "s2")
	require.NoError(t, err)
	w.putEntry(StreamEntry{StreamID: "s2", State: StateQueued, Since: time.Now()})
	require.True(t, w.claim(a, e, true))
	e, err = p.store.entry(ctx, "s2")
	require.NoError(t, err)
	require.Equal(t, StateWatching, e.v.State)
	require.Equal(t, "a", e.v.Worker)
}
