package lines

import (
	"context"
	"errors"
	"image"
	"sync"
	"time"
)

// ErrSchedulerClosed is returned by a stream's ReadLines once its Scheduler
// or the stream itself is closed.
var ErrSchedulerClosed = errors.New("lines: scheduler closed")

// DefaultLinesPerTurn is SchedulerOptions.LinesPerTurn's default.
const DefaultLinesPerTurn = 4

// SchedulerOptions tune a Scheduler.
type SchedulerOptions struct {
	// LinesPerTurn is the most lines of one stream read in one turn: a
	// frame with more lines (a busy background) is read over several turns
	// of its stream, and the other streams' turns come in between. Default
	// DefaultLinesPerTurn.
	LinesPerTurn int
}

// Scheduler shares one Engine fairly among all the streams of a process.
// Each stream reads through its own handle (Stream); the scheduler's turns
// — as many at once as the engine serves — take the lines that have waited
// longest first, at most LinesPerTurn lines of one frame per turn: the rest
// of a frame's lines wait again from the end of its turn, behind what came
// meanwhile, so that a stream whose frames hold many lines cannot starve
// the others, and a caption's frame is read in the order frames came (not
// shared out among every stream with work, which makes each of them wait
// as long as the busiest).
type Scheduler struct {
	engine Engine
	per    int

	mu      sync.Mutex
	wake    *sync.Cond
	streams []*StreamEngine // in turn order
	next    int             // index in streams of the next turn
	closed  bool
	turns   sync.WaitGroup
}

// NewScheduler starts the turns over engine (engine.Size of them); Close
// stops them.
func NewScheduler(engine Engine, o SchedulerOptions) *Scheduler {
	if o.LinesPerTurn <= 0 {
		o.LinesPerTurn = DefaultLinesPerTurn
	}
	s := &Scheduler{engine: engine, per: o.LinesPerTurn}
	s.wake = sync.NewCond(&s.mu)
	for range max(engine.Size(), 1) {
		s.turns.Go(s.serve)
	}
	return s
}

// Stream returns a new stream's handle: an Engine for its Reader. Close it
// when the stream ends.
func (s *Scheduler) Stream() *StreamEngine {
	e := &StreamEngine{s: s}
	s.mu.Lock()
	s.streams = append(s.streams, e)
	s.mu.Unlock()
	return e
}

// Close stops the turns and waits for those running; lines still waiting
// fail with ErrSchedulerClosed.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	for _, e := range s.streams {
		e.failAll()
	}
	s.wake.Broadcast()
	s.mu.Unlock()
	s.turns.Wait()
}

// Waiting is how long the oldest lines still waiting for a turn have
// waited: a measure of how far the engine is behind.
func (s *Scheduler) Waiting() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, e := range s.streams {
		if len(e.queue) > 0 && (oldest.IsZero() || e.queue[0].since.Before(oldest)) {
			oldest = e.queue[0].since
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

// serve runs turns until Close.
func (s *Scheduler) serve() {
	for {
		t := s.take()
		if t == nil {
			return
		}
		t.run(s.engine)
		s.done(t)
	}
}

// take waits for the task that has waited longest among those ready (a
// frame's first, or the next of a frame whose last turn ended) and takes
// it; nil after Close. Of equals, the stream after the last one served.
func (s *Scheduler) take() *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed {
		n := len(s.streams)
		best, at := -1, -1
		for i := range n {
			k := (s.next + i) % n
			e := s.streams[k]
			for j, t := range e.queue {
				if t.after != nil && !t.after.ended {
					continue // the frame's previous turn is still reading
				}
				if best < 0 || t.ready.Before(s.streams[best].queue[at].ready) {
					best, at = k, j
				}
				break // a stream's later tasks came later
			}
		}
		if best >= 0 {
			e := s.streams[best]
			t := e.queue[at]
			e.queue = append(e.queue[:at], e.queue[at+1:]...)
			s.next = (best + 1) % n
			return t
		}
		s.wake.Wait()
	}
	return nil
}

// done marks t's turn ended: the next task of its frame is ready from now.
func (s *Scheduler) done(t *task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ended = true
	if t.next != nil {
		t.next.ready = time.Now()
	}
	s.wake.Broadcast()
}

// StreamEngine is one stream's Engine on a Scheduler.
type StreamEngine struct {
	s      *Scheduler
	queue  []*task // guarded by s.mu
	closed bool    // guarded by s.mu
}

var _ Engine = (*StreamEngine)(nil)

// Name is the engine's.
func (e *StreamEngine) Name() string { return e.s.engine.Name() }

// Size is the engine's: a stream may keep that many frames in flight.
func (e *StreamEngine) Size() int { return e.s.engine.Size() }

// ReadLines reads crops through the scheduler, LinesPerTurn of them per turn
// of the stream, and returns the readings in the order of crops.
func (e *StreamEngine) ReadLines(ctx context.Context, img *image.Gray, crops []Crop) ([]Reading, error) {
	if len(crops) == 0 {
		return nil, nil
	}
	var tasks []*task
	now := time.Now()
	for i := 0; i < len(crops); i += e.s.per {
		t := &task{ctx: ctx, img: img, crops: crops[i:min(i+e.s.per, len(crops))],
			since: now, ready: now, done: make(chan struct{})}
		if len(tasks) > 0 {
			prev := tasks[len(tasks)-1]
			t.after, prev.next = prev, t
		}
		tasks = append(tasks, t)
	}
	e.s.mu.Lock()
	if e.closed || e.s.closed {
		e.s.mu.Unlock()
		return nil, ErrSchedulerClosed
	}
	e.queue = append(e.queue, tasks...)
	e.s.wake.Broadcast()
	e.s.mu.Unlock()
	var out []Reading
	for _, t := range tasks {
		select {
		case <-t.done:
		case <-ctx.Done():
			return nil, ctx.Err() // the turns skip the tasks of a done ctx
		}
		if t.err != nil {
			return nil, t.err
		}
		out = append(out, t.out...)
	}
	return out, nil
}

// Close takes the stream out of the turns; its lines still waiting fail
// with ErrSchedulerClosed.
func (e *StreamEngine) Close() {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e.closed = true
	e.failAll()
	for i, x := range s.streams {
		if x == e {
			s.streams = append(s.streams[:i], s.streams[i+1:]...)
			if s.next > i {
				s.next--
			}
			break
		}
	}
	if len(s.streams) > 0 {
		s.next %= len(s.streams)
	} else {
		s.next = 0
	}
}

// failAll ends the stream's waiting tasks. s.mu must be held.
func (e *StreamEngine) failAll() {
	for _, t := range e.queue {
		t.err = ErrSchedulerClosed
		close(t.done)
	}
	e.queue = nil
}

// task is one turn's work: some lines of one frame.
type task struct {
	ctx   context.Context
	img   *image.Gray
	crops []Crop
	since time.Time // when it was queued
	// ready is when it may be taken, for the order of turns: when queued,
	// or for a frame's later task when the turn of the one before ended.
	ready time.Time
	// after and next chain the tasks of one frame; ended says that the
	// turn has ended. Guarded by the Scheduler's mu.
	after, next *task
	ended       bool
	out         []Reading
	err         error
	done        chan struct{}
}

func (t *task) run(engine Engine) {
	defer close(t.done)
	if err := t.ctx.Err(); err != nil {
		t.err = err
		return
	}
	t.out, t.err = engine.ReadLines(t.ctx, t.img, t.crops)
}
