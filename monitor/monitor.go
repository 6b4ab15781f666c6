package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
)

// ErrOptions is returned by Run when a required option is missing.
var ErrOptions = errors.New("monitor: incomplete options")

// RulesSource hands out the rules in force and their compiled matcher.
// match.Live is one (rules swapped on reload or push); FixedRules makes one
// of rules that never change. It is asked at every sampled frame, so Load
// must be cheap (match.Live's is one atomic load).
type RulesSource interface {
	Load() (*match.Rules, match.Matcher)
}

// FixedRules returns a RulesSource that always hands out r, compiled once.
func FixedRules(r *match.Rules) RulesSource { return match.NewLive(r, nil) }

// Options describe one stream to watch. Run reads them and never writes
// into them.
type Options struct {
	URL      string
	StreamID string // validated with alerts.ValidateStreamID
	Channel  string
	// Ingest tunes opening and decoding. Its FramesDecoded and MediaClock
	// are the monitor's: they come from Metrics and Replay. Its Logger
	// defaults to Logger.
	Ingest ingest.Options
	// SampleInterval is the media time between sampled frames. Default 1s.
	SampleInterval time.Duration
	// Replay makes the run deterministic: no frame is dropped (decoding waits
	// for OCR) and wall-clock times derive from media time.
	Replay bool
	// Rules are the rules in force, asked for at every sampled frame: when
	// they hand out other rules than before, the stream takes them up from
	// that frame on, keeping its history. Required.
	Rules RulesSource
	// Engine reads the text lines of the stream's frames; one (*ocr.Pool)
	// is shared by all streams of a process. Required unless Scheduler is
	// set.
	Engine lines.Engine
	// Scheduler, when set, is the process's one line-reading scheduler: the
	// stream reads through a handle of its own, in fair turns with the
	// other streams, instead of through Engine.
	Scheduler *lines.Scheduler
	// DecodeSlots, when set, is the process's bound on live sources
	// decoding at once (see ingest.DecodeSlots).
	DecodeSlots ingest.DecodeSlots
	// Deadline is how old (since it was decoded) a sampled frame of a live
	// run may be when its reading would start: an older one is skipped and
	// counted (FramesSkipped), its span unwatched time, never a caption
	// gone. Replays skip nothing. Default 5 sample intervals.
	Deadline time.Duration
	// Lines tunes the detection of text lines.
	Lines lines.DetectOptions
	// Propose, when set, is the stream's own Proposer of text lines beside
	// the detector's (an engine's detector, lines.Proposer); one per stream.
	Propose lines.Proposer
	Sink    alerts.Sink // required
	// Evidence, when set, stores a JPEG of the frame that best shows each
	// alert and crops of its lines; their keys go into the records.
	Evidence alerts.EvidenceStore
	// Tracker tunes segments. Its StreamID and Channel are the monitor's:
	// they come from StreamID and Channel.
	Tracker alerts.TrackerOptions
	// Supervise tunes reconnects of live sources (backoff, no-frames
	// watchdog). Its Status callback is the monitor's: use Status.
	Supervise ingest.SuperviseOptions
	// Status, if not nil, receives every change of the stream's state (attached,
	// reconnecting, gap, ended), after the monitor has logged and counted it.
	Status  func(ingest.Status)
	Metrics *Metrics // required
	Logger  *slog.Logger
	// Progress, if not nil, is handed how far the run has come after each
	// sampled frame is matched, from the match stage's goroutine (replay's
	// progress line and report). It must return quickly. Optional.
	Progress func(Progress)

	// Resume, when set and the source is live, is asked once the source is
	// open for what earlier watchers of the stream left (alerts.Recover): the
	// stream's media time continues theirs, and segments they left open go on
	// under the same alert ids if their caption is still on screen, else are
	// closed. An error is logged and the stream starts afresh. Optional.
	Resume func(ctx context.Context) (alerts.Resume, error)
	// Handoff, when ctx is cancelled with it as the cause
	// (context.WithCancelCause), ends Run without closing the open segments:
	// the watcher that takes the stream over resumes them. Optional.
	Handoff error
	// Inspect, when set, is handed what the match stage saw at each sampled
	// frame, in frame order, as it saw it (streamwatch read prints it). It
	// runs in the match stage, which waits for it. Optional.
	Inspect func(Inspection)
}

// Inspection is what the match stage saw at one sampled frame: the frame,
// its lines as the line reader handed them on, what the matcher found in
// each, and the rules that held.
type Inspection struct {
	Frame   frames.Sampled
	Lines   []lines.Line
	Matches []match.Result // of each line, in the order of Lines
	Hits    []match.Hit
}

// Progress is how far a run has come, handed to Options.Progress after each
// sampled frame is matched.
type Progress struct {
	MediaMS  int64         // media time of the frame just matched
	Duration time.Duration // the source's length as its container tells it; 0 when unknown
	// Unwatched is the media time just before this frame that nobody
	// watched (frames dropped or skipped under load); empty when none.
	Unwatched Span
}

// Span is a stretch of media time, in ms from the stream's start.
type Span struct{ FromMS, ToMS int64 }

// Empty reports whether the span covers no time.
func (s Span) Empty() bool { return s.ToMS <= s.FromMS }

// config is what a monitor runs with: the caller's Options, checked, and the
// options of the stages it drives, derived from them.
type config struct {
	Options
	log     *slog.Logger
	ingest  ingest.Options
	tracker alerts.TrackerOptions
	lines   lines.Options
}

// newConfig checks o and derives the stages' options from it; o is copied,
// never written to.
func newConfig(o Options) (config, error) {
	if err := alerts.ValidateStreamID(o.StreamID); err != nil {
		return config{}, err
	}
	if o.Rules == nil || (o.Engine == nil && o.Scheduler == nil) || o.Sink == nil || o.Metrics == nil {
		return config{}, fmt.Errorf("%w: Rules, Engine (or Scheduler), Sink and Metrics are required", ErrOptions)
	}
	c := config{Options: o, ingest: o.Ingest, tracker: o.Tracker}
	if c.SampleInterval <= 0 {
		c.SampleInterval = time.Second // frames.NewSampler's default
	}
	if c.Deadline <= 0 {
		c.Deadline = 5 * c.SampleInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	c.log = log.With("component", "monitor", "stream", o.StreamID)
	c.ingest.FramesDecoded = o.Metrics.FramesDecoded
	c.ingest.FramesSkipped = o.Metrics.LiveEdgeSkipped
	c.ingest.MediaClock = o.Replay
	c.ingest.SampleInterval = o.SampleInterval
	c.ingest.DecodeSlots = o.DecodeSlots
	if c.ingest.Logger == nil {
		c.ingest.Logger = o.Logger
	}
	c.tracker.StreamID, c.tracker.Channel = o.StreamID, o.Channel
	c.lines = lines.Options{Engine: o.Engine, Detect: o.Lines, Propose: o.Propose, Metrics: lines.Metrics{
		Read: o.Metrics.LinesRead, Reused: o.Metrics.LinesReused, Quick: o.Metrics.LinesQuick, Light: o.Metrics.LinesLight, Seconds: o.Metrics.OCRSeconds}}
	return c, nil
}

// monitor is one stream's run: a stage per method (decode, read, match),
// joined by a queue of sampled frames and a channel of their readings.
type monitor struct {
	config
	src   *ingest.Supervised
	queue *frames.Queue
	// waits: decoding waits for the reader (a replay, a file without
	// --realtime), so no frame is late: none is skipped.
	waits   bool
	reader  *lines.Reader
	results chan reading // in frame order
	tracker *alerts.Tracker
	recent  *recentFrames
	keys    *keyframes   // judges keyframes for the source, converts frames for decode
	gaps    atomic.Int64 // unwatched spans so far; frames carry the count to the tracker
	// stopped is why Run's caller stopped it (the cause of its context), nil
	// while it has not.
	stopped func() error
}

// reading is a sampled frame and the reading of its lines.
type reading struct {
	frame frames.Sampled
	lines *lines.Pending
}

// Run watches one stream until its source ends (nil), ctx is cancelled
// (ctx.Err()), or a stage fails. When decoding fails, the frames decoded
// before are read and matched all the same, and Run returns the decode error
// after them. Every segment still open at the end is closed and its record
// published, unless the stream is handed over (Handoff). The stream's metric
// series are deleted when Run returns.
func Run(ctx context.Context, o Options) error {
	c, err := newConfig(o)
	if err != nil {
		return err
	}
	c.Metrics.watch(c.StreamID)
	defer c.Metrics.forget(c.StreamID)
	m := &monitor{config: c, stopped: func() error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}, keys: &keyframes{detect: c.Lines, log: c.log}}
	defer m.keys.Close() // after the decode stage, which uses it, has returned
	if m.ingest.Decode == ingest.DecodeAuto {
		m.ingest.Judge = m.keys
	}
	sup := c.Supervise
	sup.Status = m.status
	src, err := ingest.Supervise(ctx, c.URL, m.ingest, sup)
	if err != nil {
		// Never attached: say so all the same, so that whoever follows the
		// stream's status learns that nobody watches it.
		st := ingest.EndStatus(ctx, err)
		st.At = time.Now()
		m.status(st)
		return err
	}
	defer src.Close()
	m.src = src
	if c.Scheduler != nil {
		h := c.Scheduler.Stream()
		defer h.Close()
		c.lines.Engine, c.Engine = h, h
		// A live run reads lightly while the engine is behind; where
		// decoding waits for the reader (m.waits, set below), timing
		// must not change what is read.
		sched := c.Scheduler
		c.lines.Behind = func() bool { return !m.waits && sched.Waiting() > lightAfter }
		m.config = c
	}
	if m.reader, err = lines.NewReader(c.lines); err != nil {
		return err
	}
	m.tracker = alerts.NewTracker(c.tracker)
	m.keys.minHits = m.tracker.MinHits()
	// Whole: the frames of a segment's first MinHits hits, and one more.
	m.recent = newRecentFrames(16, m.tracker.MinHits()+1)
	if c.Resume != nil && src.Info().Live {
		m.resume(ctx)
	}
	// Only a live edge is worth dropping frames for: a file read as fast
	// as it decodes (watch FILE without --realtime) waits for the reader
	// instead, as a replay does, so none of its captions is lost. Live,
	// the queue holds two: a keyframe that shows a new line comes right
	// after the frame decoded again to time the line's start, and with room
	// for one that frame was dropped (make bench-live N=40: 56 of 1,019
	// frames, most streams' caption opening a second late).
	mode, capacity := frames.DropOldest, 2
	if c.Replay || (!src.Info().Live && !c.Ingest.Realtime) {
		mode, capacity = frames.Block, 2*c.Engine.Size()
	}
	m.queue = frames.NewQueue(capacity, mode, c.Metrics.FramesDropped)
	m.waits = mode == frames.Block
	m.results = make(chan reading, 2*max(c.Engine.Size(), 1))

	// A decode error ends the input, not the run: decode closes the queue,
	// and what it queued before is still read, matched and its segments
	// closed and published. Only a failure of read or match, or the end of
	// ctx, stops the stages at once.
	g, gctx := errgroup.WithContext(ctx)
	var decodeErr error
	g.Go(func() error {
		decodeErr = m.decode(gctx)
		return nil
	})
	g.Go(func() error { return m.read(gctx) })
	g.Go(func() error { return m.match(ctx, gctx) })
	if err := g.Wait(); err != nil {
		return err
	}
	return decodeErr
}

// status logs and counts a change of the stream's state, then hands it on.
func (m *monitor) status(st ingest.Status) {
	if st.State == ingest.StateGap {
		m.gaps.Add(1)
	}
	if st.State == ingest.StateEnded && st.Stopped != nil && m.stopped() == nil {
		// Decoding was cancelled by a stage that failed, not by the caller:
		// the stream failed.
		st.Err, st.Stopped = st.Stopped, nil
	}
	m.Metrics.observeStatus(m.StreamID, st)
	logStatus(m.log, m.URL, st)
	if m.Status != nil {
		m.Status(st)
	}
}

// resume continues what earlier watchers of a live stream left: its media
// time, and the segments still open.
func (m *monitor) resume(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := m.Resume(rctx)
	if err != nil {
		m.log.Warn("earlier alerts not read; media time and segments start afresh", "err", err)
		return
	}
	if res.Wall.IsZero() {
		return
	}
	m.src.ContinueFrom(res.MediaMS, res.Wall)
	n, err := m.tracker.Resume(res.Open)
	if err != nil {
		m.log.Warn("resumed segments start at the zero time", "err", err)
	}
	m.Metrics.Alerts.OpenSegments.Add(float64(n))
	for _, r := range res.Open {
		m.recent.storedAlready(r)
	}
	m.log.Info("continuing earlier watch", "media_ms", res.MediaMS, "since", res.Wall, "open_segments", n)
}

// lightAfter is how long lines may wait for a turn of the OCR engine before
// a live run reads its new lines lightly (lines.Crop.Light): a burst of new
// lines over many streams (a caption shown on all at once, each with junk
// beside it) then costs a try or two each, not every retry. make bench-live
// N=80: caption-to-alert p95 22.3 s without.
const lightAfter = time.Second
