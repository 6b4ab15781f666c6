package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
)

// Options describe one stream to watch.
type Options struct {
	URL      string
	StreamID string // validated with alerts.ValidateStreamID
	Channel  string
	Ingest   ingest.Options
	// SampleInterval is the media time between sampled frames. Default 1s.
	SampleInterval time.Duration
	// Replay makes the run deterministic: no frame is dropped (decoding waits
	// for OCR) and wall-clock times derive from media time.
	Replay  bool
	Rules   *match.Rules
	Matcher match.Matcher // default match.NewMatcher(Rules)
	// Engine reads the text lines of the stream's frames; one (*ocr.Pool)
	// is shared by all streams of a process.
	Engine lines.Engine
	Sink   alerts.Sink
	// Evidence, when set, stores a JPEG of the frame that best shows each
	// alert and crops of its lines; their keys go into the records.
	Evidence alerts.EvidenceStore
	Tracker  alerts.TrackerOptions // StreamID and Channel are filled in
	// Supervise tunes reconnects of live sources (backoff, no-frames watchdog);
	// its Status callback is replaced: use Status below.
	Supervise ingest.SuperviseOptions
	// Status, if not nil, receives every change of the stream's state (attached,
	// reconnecting, gap, ended), after the monitor has logged and counted it.
	Status  func(ingest.Status)
	Metrics *Metrics // required
	Logger  *slog.Logger

	// RulesSource, when set, is asked at every sampled frame for the rules
	// in force (match.Live.Load, one atomic load); when it hands out other
	// rules than before, the stream takes them up from that frame on,
	// keeping its history. Optional.
	RulesSource func() (*match.Rules, match.Matcher)

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
}

// reading is a sampled frame and the reading of its lines.
type reading struct {
	frame frames.Sampled
	lines *lines.Pending
}

// Run watches one stream until its source ends (nil), ctx is cancelled
// (ctx.Err()), or a stage fails. Every segment still open at the end is closed
// and its record published.
func Run(ctx context.Context, o Options) error {
	if err := alerts.ValidateStreamID(o.StreamID); err != nil {
		return err
	}
	if o.Rules == nil || o.Engine == nil || o.Sink == nil || o.Metrics == nil {
		return errors.New("monitor: Rules, Engine, Sink and Metrics are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "monitor", "stream", o.StreamID)
	if o.Matcher == nil {
		o.Matcher = match.NewMatcher(o.Rules)
	}
	o.Ingest.FramesDecoded = o.Metrics.FramesDecoded
	o.Ingest.MediaClock = o.Replay
	if o.Ingest.Logger == nil {
		o.Ingest.Logger = o.Logger
	}
	up := o.Metrics.StreamUp.WithLabelValues(o.StreamID)
	defer up.Set(0)
	sopts := o.Supervise
	var gaps atomic.Int64 // unwatched spans so far; frames carry the count to the tracker
	sopts.Status = func(st ingest.Status) {
		if st.State == ingest.StateGap {
			gaps.Add(1)
		}
		o.Metrics.observeStatus(o.StreamID, st)
		logStatus(log, o.URL, st)
		if o.Status != nil {
			o.Status(st)
		}
	}
	src, err := ingest.Supervise(ctx, o.URL, o.Ingest, sopts)
	if err != nil {
		// Never attached: say so all the same, so that whoever follows the
		// stream's status learns that nobody watches it.
		sopts.Status(ingest.Status{State: ingest.StateEnded, At: time.Now(), Err: err})
		return err
	}
	defer src.Close()

	topts := o.Tracker
	topts.StreamID, topts.Channel = o.StreamID, o.Channel
	tracker := alerts.NewTracker(topts)
	recent := newRecentFrames(16)
	if o.Resume != nil && src.Info().Live {
		resume(ctx, o, src, tracker, recent, log)
	}

	mode, capacity := frames.DropOldest, 1
	if o.Replay {
		mode, capacity = frames.Block, 2*o.Engine.Size()
	}
	queue := frames.NewQueue(capacity, mode, o.Metrics.FramesDropped)
	reader, err := lines.NewReader(lines.Options{Engine: o.Engine, Metrics: lines.Metrics{
		Read: o.Metrics.LinesRead, Reused: o.Metrics.LinesReused, Seconds: o.Metrics.OCRSeconds}})
	if err != nil {
		return err
	}
	results := make(chan reading, 2*max(o.Engine.Size(), 1))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { // decode and sample
		defer queue.Close()
		sampler := frames.NewSampler(o.SampleInterval)
		var conv frames.GrayConverter
		defer conv.Close()
		var seq int64
		err := src.Run(gctx, func(f ingest.Frame) error {
			if !sampler.Due(f.MediaMS) {
				return nil
			}
			img, err := conv.ToGray(f.AV)
			if err != nil {
				return err
			}
			o.Metrics.FramesSampled.Inc()
			s := frames.Sampled{Seq: seq, MediaMS: f.MediaMS, Wall: f.Wall, Image: img, Gaps: gaps.Load()}
			seq++
			return queue.Put(gctx, s)
		})
		return err // ingest's errors already name the redacted URL
	})
	g.Go(func() error { // read lines, at most the engine's size of frames at once, results kept in order
		defer func() { reader.Close(); close(results) }()
		for {
			// Room first, then the frame: the queue keeps the newest.
			if reader.Ready(gctx) != nil {
				return nil
			}
			s, ok := queue.Get(gctx)
			if !ok {
				return nil
			}
			p, err := reader.Start(gctx, s.Image)
			if err != nil {
				return nil
			}
			select {
			case results <- reading{frame: s, lines: p}:
			case <-gctx.Done():
				return nil
			}
		}
	})
	g.Go(func() error { // match, track, publish: one frame at a time, in media order
		ev := match.NewEvaluator(o.Rules, o.Matcher, o.Channel)
		inForce := o.Rules
		last := time.Now()
		var seenGaps int64
		publish := func(rs []alerts.Record) {
			for _, r := range rs {
				o.Metrics.Alerts.Records.WithLabelValues(string(r.State)).Inc()
				// Publishing outlives cancellation so that closing records of a
				// stopped stream still go out.
				if err := o.Sink.Publish(context.WithoutCancel(gctx), r); err != nil {
					o.Metrics.PublishErrors.Inc()
					log.Error("publish failed", "alert_id", r.AlertID, "state", r.State, "err", err)
				}
			}
		}
		withEvidence := func(rs []alerts.Record) []alerts.Record {
			if o.Evidence != nil {
				for i := range rs {
					recent.attach(gctx, o.Evidence, &rs[i], log)
				}
			}
			return rs
		}
		defer func() {
			open := tracker.Open()
			if o.Handoff != nil && errors.Is(context.Cause(ctx), o.Handoff) {
				if open > 0 {
					log.Info("handed over with segments open", "open", open)
				}
			} else {
				publish(withEvidence(tracker.Close(last)))
			}
			o.Metrics.Alerts.OpenSegments.Sub(float64(open))
		}()
		for r := range results {
			read, err := r.lines.Wait()
			if err != nil {
				if gctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("ocr at %dms: %w", r.frame.MediaMS, err)
			}
			last = r.frame.Wall
			lines := make([]match.Line, len(read))
			for i, l := range read {
				lines[i] = match.Line{Text: l.Text, Confidence: math.Round(l.Confidence*10) / 10,
					Box: match.Box{X: l.Box.Min.X, Y: l.Box.Min.Y, W: l.Box.Dx(), H: l.Box.Dy()}}
			}
			if o.RulesSource != nil {
				if nr, nm := o.RulesSource(); nr != nil && nr != inForce {
					ev.SetRules(nr, nm)
					inForce = nr
					log.Info("rules taken up", "media_ms", r.frame.MediaMS, "summary", nr.Summary())
				}
			}
			hits := ev.Observe(r.frame.MediaMS, lines)
			for _, h := range hits {
				o.Metrics.Matches.WithLabelValues(h.Rule).Inc()
			}
			if r.frame.Gaps > seenGaps {
				// Nobody watched for a while: what was on screen before may
				// still be, and is not taken for gone.
				seenGaps = r.frame.Gaps
				tracker.Suspend()
			}
			before := tracker.Open()
			recent.add(r.frame)
			publish(withEvidence(tracker.Observe(r.frame.MediaMS, r.frame.Wall, hits)))
			o.Metrics.Alerts.OpenSegments.Add(float64(tracker.Open() - before))
			log.Debug("frame", "media_ms", r.frame.MediaMS, "lines", len(lines), "hits", len(hits))
		}
		return nil
	})
	return g.Wait()
}

// resume continues what earlier watchers of a live stream left: its media
// time, and the segments still open.
func resume(ctx context.Context, o Options, src *ingest.Supervised, tracker *alerts.Tracker, recent *recentFrames, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := o.Resume(rctx)
	if err != nil {
		log.Warn("earlier alerts not read; media time and segments start afresh", "err", err)
		return
	}
	if res.Wall.IsZero() {
		return
	}
	src.ContinueFrom(res.MediaMS, res.Wall)
	n, err := tracker.Resume(res.Open)
	if err != nil {
		log.Warn("resumed segments start at the zero time", "err", err)
	}
	o.Metrics.Alerts.OpenSegments.Add(float64(n))
	for _, r := range res.Open {
		recent.storedAlready(r)
	}
	log.Info("continuing earlier watch", "media_ms", res.MediaMS, "since", res.Wall, "open_segments", n)
}
