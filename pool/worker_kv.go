package pool

// The worker's bookkeeping in the key-value buckets: its claim on a stream's
// entry, the entries it writes, its heartbeat, and the pushed rules it
// watches.

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/ingest"
)

// claim writes the stream's entry as watched by this worker, on top of the
// revision read (when known), so that a stop that deleted the entry meanwhile
// is seen rather than undone: false means the stream was stopped.
func (w *Worker) claim(a Assignment, entry revEntry[StreamEntry], known bool) bool {
	e := entry.v
	e.StreamID, e.URL, e.Channel = a.StreamID, ingest.Redact(a.URL), a.Channel
	e.Worker, e.State, e.Since, e.Error = w.o.ID, StateWatching, time.Now().UTC(), ""
	val, err := json.Marshal(e)
	if err != nil {
		w.log.Error("stream entry not encoded", "stream", a.StreamID, "err", err)
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 3 {
		if !known {
			break
		}
		_, err := w.o.Store.Streams.Update(ctx, a.StreamID, val, entry.rev)
		if err == nil {
			return true
		}
		// Changed since it was read: deleted by a stop, or rewritten (by the
		// worker that handed the stream back): read it again.
		cur, gerr := w.o.Store.entry(ctx, a.StreamID)
		if errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted) {
			return false
		}
		if gerr != nil {
			w.log.Warn("stream entry unreadable", "stream", a.StreamID, "err", gerr)
			break
		}
		entry.rev = cur.rev
	}
	if _, err := w.o.Store.Streams.Put(ctx, a.StreamID, val); err != nil {
		w.log.Warn("stream entry not updated", "stream", a.StreamID, "err", err)
	}
	return true
}

func (w *Worker) putEntry(e StreamEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	val, err := json.Marshal(e)
	if err != nil {
		w.log.Error("stream entry not encoded", "stream", e.StreamID, "err", err)
		return
	}
	if _, err := w.o.Store.Streams.Put(ctx, e.StreamID, val); err != nil {
		w.log.Warn("stream entry not updated", "stream", e.StreamID, "err", err)
	}
}

// heartbeats puts the worker's entry every Heartbeat until ctx ends.
func (w *Worker) heartbeats(ctx context.Context) {
	t := time.NewTicker(w.o.Heartbeat)
	defer t.Stop()
	for {
		w.mu.Lock()
		e := WorkerEntry{Worker: w.o.ID, Capacity: w.o.Capacity, Load: len(w.held),
			Draining: !w.ready.Load(), Heartbeat: time.Now().UTC(), RulesRevision: w.rulesRev.Load()}
		for id := range w.held {
			e.Streams = append(e.Streams, id)
		}
		w.mu.Unlock()
		sort.Strings(e.Streams)
		if w.o.Overloaded != nil {
			e.Overloaded = w.o.Overloaded()
		}
		if w.o.Loads != nil {
			e.Loads = w.o.Loads()
		}
		w.heartbeat(ctx, e)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heartbeat puts the worker's entry once.
func (w *Worker) heartbeat(ctx context.Context, e WorkerEntry) {
	val, err := json.Marshal(e)
	if err != nil {
		w.log.Error("heartbeat not encoded", "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := w.o.Store.Workers.Put(pctx, w.o.ID, val); err != nil && ctx.Err() == nil {
		w.log.Warn("heartbeat failed", "err", err)
	}
}

// watchRules hands each version of the pushed rules to ApplyRules until ctx
// ends.
func (w *Worker) watchRules(ctx context.Context) {
	log := w.log.With("bucket", RulesBucket)
	for ctx.Err() == nil {
		watcher, err := w.o.Store.Rules.Watch(ctx, RulesKey)
		if err != nil {
			log.Warn("rules not watched; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		for e := range watcher.Updates() {
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil: the stored value has been sent
			}
			if e.Revision() <= w.rulesRev.Load() {
				continue
			}
			if err := w.o.ApplyRules(e.Value()); err != nil {
				log.Error("pushed rules refused; the rules in force stay", "revision", e.Revision(), "err", err)
				continue
			}
			w.rulesRev.Store(e.Revision())
			log.Info("pushed rules in force", "revision", e.Revision())
		}
		if err := watcher.Stop(); err != nil {
			log.Warn("rules watcher not stopped", "err", err)
		}
	}
}
