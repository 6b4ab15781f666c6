package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/ingest"
)

// Watcher watches one assigned stream until it ends for good (nil), ctx is
// cancelled, or it fails. cmd hands in one that runs monitor.Run.
type Watcher interface {
	Watch(ctx context.Context, a Assignment) error
}

// WatchFunc adapts a function to Watcher.
type WatchFunc func(ctx context.Context, a Assignment) error

// Watch calls f.
func (f WatchFunc) Watch(ctx context.Context, a Assignment) error { return f(ctx, a) }

// Options configure a Worker.
type Options struct {
	Store    *Store
	ID       string // worker id, shown by status; required
	Capacity int    // most streams held at once; required
	// AckWait must equal the consumer's; leases are renewed every third of
	// it. Default DefaultAckWait.
	AckWait time.Duration
	// Heartbeat is the period of the worker's entry in WorkersBucket.
	// Default 2s.
	Heartbeat time.Duration
	// FetchWait bounds one pull request. Default 1s.
	FetchWait time.Duration
	Watcher   Watcher
	// ApplyRules, if not nil, is handed every version of the rules pushed
	// to RulesBucket (the one stored when the worker starts, then each new
	// one); an error refuses that version and the rules in force stay.
	ApplyRules func(yaml []byte) error
	// Overloaded, if not nil, is asked before each fetch: a reason (the
	// worker is over its budget: reading lags) stops fetching new streams
	// until it is empty again, so that the pool places them on other
	// workers; Unready (/readyz) says it. Optional.
	Overloaded func() string
	// Loads, if not nil, tells at each heartbeat how the streams keep up,
	// for status. Optional.
	Loads   func() []StreamLoad
	Metrics *Metrics // required
	// Logger receives the worker's logs, with component=pool. Default: none.
	Logger *slog.Logger
}

// held is one assignment a worker holds.
type held struct {
	a      Assignment
	msg    jetstream.Msg
	cancel context.CancelCauseFunc
	done   chan struct{}
	// stopped is set when the stream is stopped by the operator.
	stopped atomic.Bool
	// released is set by whoever acks, naks or terms the message first.
	released atomic.Bool
	// handback is set by the drain, which settles the message itself.
	handback atomic.Bool
	// leaseLost is set when renewals failed for an ack wait: the message is
	// left alone, JetStream redelivers it.
	leaseLost atomic.Bool
}

// ErrHandoff is the cause with which a worker cancels the watch of a stream
// it gives up to another worker (a drain, a lost lease), as opposed to one
// that ends or is stopped: the watcher should leave the stream's open
// segments for the next to resume (monitor.Options.Handoff).
var ErrHandoff = errors.New("pool: stream handed over to another worker")

// ErrOptions is returned by NewWorker for Options that lack a required field
// or hold an impossible value.
var ErrOptions = errors.New("pool: Store, Watcher, Metrics and ID are required, and a positive Capacity")

// errStopped is the cause of a watch ended by `streamwatch stop`.
var errStopped = errors.New("pool: stream stopped")

// Worker takes assignments from the pool up to its capacity and watches them.
type Worker struct {
	o     Options
	log   *slog.Logger
	mu    sync.Mutex
	held  map[string]*held
	room  chan struct{} // signalled when an assignment ends
	ready atomic.Bool
	wg    sync.WaitGroup
	// rulesRev is the revision of the pushed rules in force.
	rulesRev atomic.Uint64
}

// NewWorker checks o and returns a worker; Run starts it.
func NewWorker(o Options) (*Worker, error) {
	if o.Store == nil || o.Watcher == nil || o.Metrics == nil || o.ID == "" {
		return nil, ErrOptions
	}
	if o.Capacity <= 0 {
		return nil, fmt.Errorf("%w: capacity must be positive, got %d", ErrOptions, o.Capacity)
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	if o.FetchWait <= 0 {
		o.FetchWait = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{o: o, log: o.Logger.With("component", "pool", "worker", o.ID),
		held: map[string]*held{}, room: make(chan struct{}, 1)}, nil
}

// Ready tells whether the worker takes work: false before Run and from the
// moment a drain begins.
func (w *Worker) Ready() bool { return w.ready.Load() }

// Unready says why the worker takes no new streams now: "draining" (or not
// started), the Overloaded reason, or "" when it takes them.
func (w *Worker) Unready() string {
	if !w.ready.Load() {
		return "draining"
	}
	if w.o.Overloaded != nil {
		return w.o.Overloaded()
	}
	return ""
}

// overloaded asks Overloaded and logs when the answer changes.
func (w *Worker) overloaded(was string) string {
	why := ""
	if w.o.Overloaded != nil {
		why = w.o.Overloaded()
	}
	switch {
	case why != "" && was == "":
		w.log.Warn("over budget; fetching no new streams", "why", why)
	case why == "" && was != "":
		w.log.Info("within budget again; fetching streams")
	}
	return why
}

// Load is the number of assignments held now.
func (w *Worker) Load() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}

// Run takes and watches assignments until ctx ends, then drains: it stops
// fetching, hands every held assignment back at once (a Nak, so another
// worker gets it without waiting for the lease to lapse), stops its
// monitors and waits for them.
func (w *Worker) Run(ctx context.Context) error {
	cons := w.o.Store.consumer
	w.o.Metrics.Capacity.Set(float64(w.o.Capacity))
	sub, err := w.o.Store.NC.Subscribe(StopPrefix+"*", func(m *nats.Msg) {
		w.stop(m.Subject[len(StopPrefix):])
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", StopPrefix+"*", err)
	}
	defer func() {
		if err := sub.Unsubscribe(); err != nil {
			w.log.Warn("stop subscription not ended", "err", err)
		}
	}()

	hbCtx, hbCancel := context.WithCancel(context.WithoutCancel(ctx))
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); w.heartbeats(hbCtx) }()
	defer func() {
		hbCancel()
		<-hbDone
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := w.o.Store.Workers.Delete(dctx, w.o.ID); err != nil {
			// The entry expires with its TTL; status shows the worker until then.
			w.log.Warn("worker entry not deleted", "err", err)
		}
	}()

	if w.o.ApplyRules != nil {
		rctx, rcancel := context.WithCancel(ctx)
		rdone := make(chan struct{})
		go func() { defer close(rdone); w.watchRules(rctx) }()
		defer func() { rcancel(); <-rdone }()
	}

	w.ready.Store(true)
	w.log.Info("worker started", "capacity", w.o.Capacity, "ack_wait", w.o.AckWait.String())
	over := ""
	for ctx.Err() == nil {
		if over = w.overloaded(over); over != "" {
			select {
			case <-ctx.Done():
			case <-time.After(w.o.FetchWait):
			}
			continue
		}
		free := w.o.Capacity - w.Load()
		if free <= 0 {
			select {
			case <-ctx.Done():
			case <-w.room:
			}
			continue
		}
		fctx, fcancel := context.WithTimeout(ctx, w.o.FetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			fcancel()
			if ctx.Err() == nil {
				w.log.Warn("fetch failed", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		for msg := range batch.Messages() {
			w.take(ctx, msg)
		}
		fcancel()
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			w.log.Debug("fetch ended", "err", err)
		}
	}
	w.drain()
	return nil
}

// take starts watching one fetched assignment, or hands it back when the
// worker is draining, or drops it when the stream was stopped while queued.
func (w *Worker) take(ctx context.Context, msg jetstream.Msg) {
	var a Assignment
	if err := json.Unmarshal(msg.Data(), &a); err != nil || a.StreamID != streamOf(msg.Subject()) {
		w.log.Error("assignment unreadable; dropped", "subject", msg.Subject(), "err", err)
		w.settle(opTerm, msg, w.log) // logged and counted by settle; nothing else to do for a message we cannot read
		return
	}
	log := w.log.With("stream", a.StreamID)
	if ctx.Err() != nil { // fetched while the drain began
		w.settle(opNak, msg, log) // logged and counted by settle; the lease lapses instead
		w.o.Metrics.Handoffs.Inc()
		return
	}
	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	entry, err := w.o.Store.entry(kctx, a.StreamID)
	cancel()
	known := err == nil
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		log.Info("stream stopped while queued; dropped")
		w.settle(opAck, msg, log) // logged and counted by settle; a redelivery finds the entry gone again
		return
	}
	if err != nil {
		log.Warn("stream entry unreadable; watching anyway", "err", err)
	}
	w.mu.Lock()
	if _, dup := w.held[a.StreamID]; dup {
		w.mu.Unlock()
		log.Warn("assignment held already; dropped the duplicate")
		w.settle(opAck, msg, log) // logged and counted by settle; a redelivery is a duplicate again
		return
	}
	mctx, mcancel := context.WithCancelCause(context.WithoutCancel(ctx))
	h := &held{a: a, msg: msg, cancel: mcancel, done: make(chan struct{})}
	w.held[a.StreamID] = h
	w.o.Metrics.Assignments.Set(float64(len(w.held)))
	w.mu.Unlock()

	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		log.Info("assignment taken over", "deliveries", md.NumDelivered)
	} else {
		log.Info("assignment taken")
	}
	if !w.claim(a, entry, known) {
		log.Info("stream stopped while being taken; dropped")
		w.mu.Lock()
		delete(w.held, a.StreamID)
		w.o.Metrics.Assignments.Set(float64(len(w.held)))
		w.mu.Unlock()
		mcancel(errStopped)
		h.released.Store(true)
		w.settle(opAck, msg, log) // logged and counted by settle; a redelivery finds the stream stopped
		return
	}

	w.wg.Add(2)
	go func() { defer w.wg.Done(); w.renew(mctx, h) }()
	go func() {
		defer w.wg.Done()
		defer close(h.done)
		err := w.o.Watcher.Watch(mctx, a)
		w.finish(h, err)
	}()
}

// renew keeps h leased until ctx ends. A lease not renewed for a whole ack
// wait is lost: JetStream may have handed the stream to another worker, so
// this one stops watching it rather than watch it twice.
func (w *Worker) renew(ctx context.Context, h *held) {
	t := time.NewTicker(w.o.AckWait / 3)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if h.released.Load() {
			return
		}
		if !w.settle(opInProgress, h.msg, w.log.With("stream", h.a.StreamID)) {
			w.o.Metrics.LeaseFailures.Inc()
			if time.Since(lastOK) >= w.o.AckWait {
				w.log.Error("lease lost; stopping the stream", "stream", h.a.StreamID)
				h.leaseLost.Store(true)
				h.cancel(ErrHandoff)
				return
			}
			continue
		}
		lastOK = time.Now()
		w.o.Metrics.LeaseRenewals.Inc()
	}
}

// finish settles an assignment whose watch returned.
func (w *Worker) finish(h *held, err error) {
	h.cancel(nil)
	w.mu.Lock()
	delete(w.held, h.a.StreamID)
	w.o.Metrics.Assignments.Set(float64(len(w.held)))
	w.mu.Unlock()
	select {
	case w.room <- struct{}{}:
	default:
	}
	if h.handback.Load() || h.leaseLost.Load() || !h.released.CompareAndSwap(false, true) {
		return // handed back by the drain, or gone with the lease
	}
	log := w.log.With("stream", h.a.StreamID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch {
	case h.stopped.Load():
		log.Info("stream stopped; released")
		w.o.Metrics.Handoffs.Inc()
		w.release(ctx, h, log)
	case err == nil || errors.Is(err, context.Canceled):
		log.Info("stream ended; released")
		w.release(ctx, h, log)
	default:
		log.Error("stream failed; released", "err", err)
		w.settle(opTerm, h.msg, log) // logged and counted by settle; the entry below says the stream failed
		e := StreamEntry{StreamID: h.a.StreamID, URL: ingest.Redact(h.a.URL), Channel: h.a.Channel,
			Worker: w.o.ID, State: StateFailed, Since: time.Now().UTC(), Error: err.Error()}
		w.putEntry(e)
	}
}

// release acks the assignment of a stream that ended or was stopped and
// deletes its entry.
func (w *Worker) release(ctx context.Context, h *held, log *slog.Logger) {
	w.settle(opAck, h.msg, log) // logged and counted by settle; JetStream will redeliver it
	if err := w.o.Store.Streams.Delete(ctx, h.a.StreamID); err != nil {
		log.Warn("stream entry not deleted; status shows it until it is submitted again", "err", err)
	}
}

// stop ends the watch of stream id if this worker holds it.
func (w *Worker) stop(id string) {
	w.mu.Lock()
	h := w.held[id]
	w.mu.Unlock()
	if h == nil {
		return
	}
	h.stopped.Store(true)
	h.cancel(errStopped)
}

// handbackWait bounds how long the drain waits for a monitor to stop before it
// hands its stream back anyway.
const handbackWait = 3 * time.Second

// drain hands every held assignment back and waits for the monitors. Each
// stream is handed back as soon as its monitor has stopped (so that no two
// workers watch it at once) or after handbackWait, whichever comes first.
func (w *Worker) drain() {
	w.ready.Store(false)
	w.mu.Lock()
	hs := make([]*held, 0, len(w.held))
	for _, h := range w.held {
		hs = append(hs, h)
	}
	w.mu.Unlock()
	w.log.Info("draining", "streams", len(hs))
	for _, h := range hs {
		h.handback.Store(true)
		h.cancel(ErrHandoff)
	}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(handbackWait)
			defer t.Stop()
			select {
			case <-h.done:
			case <-t.C:
			}
			if !h.released.CompareAndSwap(false, true) {
				return
			}
			// The entry first: the worker that takes the stream next writes
			// its own after.
			w.putEntry(StreamEntry{StreamID: h.a.StreamID, URL: ingest.Redact(h.a.URL), Channel: h.a.Channel,
				State: StateQueued, Since: time.Now().UTC()})
			if !w.settle(opNak, h.msg, w.log.With("stream", h.a.StreamID)) {
				w.log.Warn("hand-back failed; the lease will lapse", "stream", h.a.StreamID)
			}
			w.o.Metrics.Handoffs.Inc()
			w.log.Info("stream handed back", "stream", h.a.StreamID)
		}()
	}
	wg.Wait()
	w.wg.Wait()
	w.log.Info("drained", "handed_back", len(hs))
}
