package lines

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamwatch/streamwatch/internal/motion"
)

// ErrNoEngine is returned by NewReader without an Engine.
var ErrNoEngine = errors.New("lines: no engine")

// A line read with less than reuseConfidence is read again, while its
// pixels stay unchanged, up to maxDoubtfulReads times in all: a doubtful
// reading (a moving background behind the line, a compression artefact) is
// worth another try on the next frames, a few times per appearance.
const (
	reuseConfidence  = 75
	maxDoubtfulReads = 3
)

// Line is one text line of a frame, as the stage hands it on.
type Line struct {
	Box        image.Rectangle // the crop's Box, in the frame's coordinates
	Text       string
	Confidence float64 // 0..100
	Engine     string  // the Name of the engine that read it
	// Reused says that the line was read in an earlier frame over the same
	// pixels, and not read again for this one.
	Reused bool
	Chars  []Char // the characters' boxes, when the engine reports them
	// Span is where the engine read the line when that reaches past Box
	// (see Reading.Span); zero otherwise.
	Span image.Rectangle
}

// Extent is where the line's Text is in the frame: Span, or Box.
func (l Line) Extent() image.Rectangle {
	if !l.Span.Empty() {
		return l.Span
	}
	return l.Box
}

// Metrics count the stage's work; a nil field counts nothing.
type Metrics struct {
	Read    prometheus.Counter  // lines handed to the engine
	Reused  prometheus.Counter  // lines not read again: their pixels had not changed
	Quick   prometheus.Counter  // lines read quickly: where reads were junk (see Crop.Quick)
	Light   prometheus.Counter  // lines read lightly: the engine was behind (see Crop.Light)
	Seconds prometheus.Observer // seconds the engine spent on one frame's lines
}

// Options configure a Reader.
type Options struct {
	Engine Engine // required; shared by all streams of a process
	Detect DetectOptions
	// MaxChanged is the largest fraction of a line's pixels that may have
	// flipped between ink and background for the line to count as
	// unchanged since an earlier frame. Default 0.02.
	MaxChanged float64
	// Propose, when set, is consulted after the detector on every frame
	// (see Proposer); it belongs to one stream.
	Propose Proposer
	// Behind, when set, reports whether the engine is behind (lines wait
	// for a turn): the frame's new lines are then read lightly (see
	// Crop.Light). It is asked once per frame. A run that must not depend
	// on timing (a replay) leaves it nil.
	Behind  func() bool
	Metrics Metrics
}

// Reader reads the text lines of one stream's frames: it proposes line
// regions, sorts out the lines unchanged since an earlier frame (their
// readings are reused), reads the others through the Engine, and keeps the
// readings for later frames. Up to the engine's Size frames are read at
// once; Ready and Start are called by one goroutine, in frame order, and
// each frame's Pending may be waited for by another.
type Reader struct {
	o     Options
	name  string
	gate  gate
	tex   texture
	slots chan struct{} // one per frame in flight
	held  bool          // Ready took a slot for the next Start
	// prev is the profile of the frame checked before, for its shift.
	prev     motion.Profile
	havePrev bool
	reads    sync.WaitGroup
}

// NewReader returns a Reader for one stream.
func NewReader(o Options) (*Reader, error) {
	if o.Engine == nil {
		return nil, ErrNoEngine
	}
	return &Reader{
		o:     o,
		name:  o.Engine.Name(),
		gate:  gate{maxChanged: o.MaxChanged},
		slots: make(chan struct{}, max(o.Engine.Size(), 1)),
	}, nil
}

// Ready waits until fewer than the engine's Size frames of this stream are
// being read, and keeps the place for the next Start. Call it before taking
// the next frame off a queue that keeps the newest frames, so that the frame
// read is the newest one. It returns ctx.Err() if ctx ends first.
func (r *Reader) Ready(ctx context.Context) error {
	if r.held {
		return nil
	}
	select {
	case r.slots <- struct{}{}:
		r.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start proposes the line regions of img, sorts out those unchanged since an
// earlier frame and starts reading the others; the Pending it returns hands
// back the frame's lines. It waits for room (see Ready) and, for a line
// unchanged since a frame whose read is still out, for that read, so that a
// doubtful reading is retried rather than reused. It returns ctx.Err() if
// ctx ends while it waits for room; ctx also bounds the read.
func (r *Reader) Start(ctx context.Context, img *image.Gray) (*Pending, error) {
	return r.start(ctx, img, nil)
}

// StartWith is Start of a's picture, taking a's candidate lines and means
// rather than working them out again (when a was made with the reader's
// detector options).
func (r *Reader) StartWith(ctx context.Context, a *Analysis) (*Pending, error) {
	return r.start(ctx, a.img, a)
}

func (r *Reader) start(ctx context.Context, img *image.Gray, a *Analysis) (*Pending, error) {
	if err := r.Ready(ctx); err != nil {
		return nil, err
	}
	r.held = false
	tf, err := r.tex.start(ctx, img)
	if err != nil {
		<-r.slots
		return nil, err
	}
	crops, prof := analysis(img, r.o.Detect, a)
	if _, ok := r.o.Propose.(Observer); ok {
		r.reads.Wait() // what the frames before read, observed
	}
	var shift image.Point
	if r.havePrev {
		shift = motion.Shift(r.prev, prof)
	}
	r.prev, r.havePrev = prof, true
	if f, ok := r.o.Propose.(Follower); ok {
		f.Follow(shift)
	}
	if r.o.Propose != nil {
		if crops, err = r.o.Propose.Propose(ctx, img, crops); err != nil {
			// Like a failed read: the frame's Pending says so.
			tf.file(nil, false)
			<-r.slots
			p := &Pending{done: make(chan struct{}), err: fmt.Errorf("lines: propose: %w", err)}
			close(p.done)
			return p, nil
		}
	}
	reused, fresh := r.gate.check(ctx, img, crops, shift)
	quick, light := 0, 0
	behind := len(fresh) > 0 && r.o.Behind != nil && r.o.Behind()
	for _, e := range fresh {
		if e.crop.Quick = r.tex.choose(e.crop.Box, e.retry); e.crop.Quick {
			quick++
		} else if e.crop.Light = behind; behind {
			light++
		}
	}
	add(r.o.Metrics.Reused, len(reused))
	add(r.o.Metrics.Read, len(fresh))
	add(r.o.Metrics.Quick, quick)
	add(r.o.Metrics.Light, light)
	var old []Line
	for _, e := range reused {
		for _, l := range e.lines {
			l.Reused = true
			old = append(old, l)
		}
	}
	p := &Pending{done: make(chan struct{})}
	r.reads.Add(1)
	go func() {
		defer r.reads.Done()
		p.lines, p.err = r.read(ctx, img, fresh, old)
		tf.file(fresh, p.err == nil)
		close(p.done)
		<-r.slots
	}()
	return p, nil
}

// read reads the lines of fresh entries, files each reading under its
// entry and settles the entries; it returns the lines read, then reused.
func (r *Reader) read(ctx context.Context, img *image.Gray, fresh []*entry, reused []Line) ([]Line, error) {
	var got []Reading
	if len(fresh) > 0 {
		crops := make([]Crop, len(fresh))
		for i, e := range fresh {
			crops[i] = e.crop
		}
		start := time.Now()
		var err error
		got, err = r.o.Engine.ReadLines(ctx, img, crops)
		if r.o.Metrics.Seconds != nil {
			r.o.Metrics.Seconds.Observe(time.Since(start).Seconds())
		}
		if err != nil {
			for _, e := range fresh {
				e.forget()
				e.settle()
			}
			return nil, err
		}
		if ob, ok := r.o.Propose.(Observer); ok {
			ob.Observe(crops, got)
		}
	}
	out := make([]Line, 0, len(got)+len(reused))
	for _, g := range got {
		name := r.name
		if g.Engine != "" {
			name = g.Engine
		}
		out = append(out, Line{Box: g.Box, Text: g.Text, Confidence: g.Confidence, Engine: name, Chars: g.Chars, Span: g.Span})
	}
	for _, e := range fresh {
		for _, l := range out {
			if l.Box == e.crop.Box {
				e.lines = append(e.lines, l)
			}
		}
		for _, l := range e.lines {
			if l.Confidence < reuseConfidence && e.reads < maxDoubtfulReads {
				e.forget()
				break
			}
		}
		e.settle()
	}
	return append(out, reused...), nil
}

// Close waits for the reads started. The Reader is not used after.
func (r *Reader) Close() { r.reads.Wait() }

func add(c prometheus.Counter, n int) {
	if c != nil {
		c.Add(float64(n))
	}
}

// Pending is the reading of one frame's lines, begun by Start.
type Pending struct {
	done  chan struct{}
	lines []Line
	err   error
}

// Wait waits for the frame's lines and returns them: those read for it, in
// the engine's order, then those reused from earlier frames.
func (p *Pending) Wait() ([]Line, error) {
	<-p.done
	return p.lines, p.err
}
