package frames

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Put after Close.
var ErrClosed = errors.New("frames: queue closed")

// QueueMode says what Put does when the queue is full.
type QueueMode int

const (
	// DropOldest is for live sources: Put never blocks; when the queue is full the
	// oldest queued item is discarded and counted.
	DropOldest QueueMode = iota
	// Block is for replays: Put waits for room, nothing is dropped.
	Block
)

// Queue is the bounded hand-off between decoding and OCR. It is safe for concurrent
// use by any number of producers and consumers.
type Queue struct {
	mode    QueueMode
	dropped prometheus.Counter

	mu      sync.Mutex
	buf     []Sampled // ring of len capacity
	head, n int
	closed  bool
	nDrop   int64
	// changed is closed and replaced on every change of the queue, waking all waiters.
	changed chan struct{}
}

// NewQueue returns a queue holding up to capacity items (at least 1). dropped, if not
// nil, is incremented for every item DropOldest discards.
func NewQueue(capacity int, mode QueueMode, dropped prometheus.Counter) *Queue {
	return &Queue{
		mode:    mode,
		dropped: dropped,
		buf:     make([]Sampled, max(capacity, 1)),
		changed: make(chan struct{}),
	}
}

// broadcast wakes every waiter. q.mu must be held.
func (q *Queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Put adds s. In DropOldest mode it never blocks and ignores ctx. In Block mode it
// waits for room and returns ctx.Err() if ctx ends first. After Close it returns ErrClosed.
func (q *Queue) Put(ctx context.Context, s Sampled) error {
	if s.Queued.IsZero() {
		s.Queued = time.Now()
	}
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return ErrClosed
		}
		if q.n < len(q.buf) {
			break
		}
		if q.mode == DropOldest {
			q.buf[q.head] = Sampled{} // let the image be collected
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			q.nDrop++
			if q.dropped != nil {
				q.dropped.Inc()
			}
			break
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = s
	q.n++
	q.broadcast()
	q.mu.Unlock()
	return nil
}

// Get removes and returns the oldest item, waiting for one. It returns false when the
// queue is closed and empty, or when ctx has ended.
func (q *Queue) Get(ctx context.Context) (Sampled, bool) {
	if ctx.Err() != nil {
		return Sampled{}, false
	}
	q.mu.Lock()
	for q.n == 0 {
		if q.closed {
			q.mu.Unlock()
			return Sampled{}, false
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return Sampled{}, false
		}
		q.mu.Lock()
	}
	s := q.buf[q.head]
	q.buf[q.head] = Sampled{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.broadcast()
	q.mu.Unlock()
	return s, true
}

// Close stops Puts. Gets drain what is left, then return false. Safe to call twice.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.broadcast()
	}
}

// Len is the number of queued items.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Dropped is the number of items DropOldest has discarded.
func (q *Queue) Dropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nDrop
}
