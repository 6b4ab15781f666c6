package monitor

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
)

// decode runs the source, samples its frames and queues them, as Go images,
// for the read stage; it closes the queue when the source ends.
func (m *monitor) decode(ctx context.Context) error {
	defer m.queue.Close()
	sampler := frames.NewSampler(m.SampleInterval)
	var seq int64
	err := m.src.Run(ctx, func(f ingest.Frame) error {
		if !sampler.Due(f.MediaMS) {
			return nil
		}
		img, an, err := m.keys.gray(f)
		if err != nil {
			return err
		}
		m.Metrics.FramesSampled.Inc()
		s := frames.Sampled{Seq: seq, MediaMS: f.MediaMS, Wall: f.Wall, Image: img, Analysis: an, Gaps: m.gaps.Load()}
		seq++
		return m.queue.Put(ctx, s)
	})
	return err // ingest's errors already name the redacted URL
}

// read hands queued frames to the line reader, up to the engine's size of
// them at once, and their readings on to the match stage in frame order. It
// ends when the queue is closed and empty or ctx ends, once its reads are
// done.
func (m *monitor) read(ctx context.Context) error {
	defer func() {
		m.reader.Close()
		close(m.results)
	}()
	for {
		// Room first, then the frame: the queue keeps the newest.
		if m.reader.Ready(ctx) != nil {
			return nil
		}
		s, ok := m.queue.Get(ctx)
		if !ok {
			return nil
		}
		if m.late(s) {
			continue
		}
		var p *lines.Pending
		var err error
		if s.Analysis != nil {
			p, err = m.reader.StartWith(ctx, s.Analysis)
		} else {
			p, err = m.reader.Start(ctx, s.Image)
		}
		if err != nil {
			return nil // only the end of ctx fails Start: a normal stop
		}
		select {
		case m.results <- reading{frame: s, lines: p}:
		case <-ctx.Done():
			return nil
		}
	}
}

// late reports, and counts, a frame of a live run that is past its
// deadline: it is skipped, and the match stage takes its span for
// unwatched time (its Seq is missing). Where decoding waits for the reader
// (a replay, a file watched without --realtime) nothing is late.
func (m *monitor) late(s frames.Sampled) bool {
	if m.waits || s.Queued.IsZero() || time.Since(s.Queued) <= m.Deadline {
		return false
	}
	m.Metrics.FramesSkipped.Inc()
	m.log.Debug("frame skipped: past its deadline", "media_ms", s.MediaMS, "age", time.Since(s.Queued).Round(time.Millisecond))
	return true
}

// matchState is the state of the match stage: the rules it evaluates, the
// wall-clock of the last frame and the unwatched spans seen.
type matchState struct {
	ev       *match.Evaluator
	inForce  *match.Rules
	matcher  match.Matcher // inForce's, for Inspect
	last     time.Time
	seenGaps int64
	prev     frames.Sampled // the frame observed before (its Image cleared)
	havePrev bool
}

// unwatched is the media time before f that went unwatched: the frames
// sampled between the previous frame observed and f (their Seq numbers are
// missing) were dropped or skipped, and each stood for an equal share of the
// span between the two. It also keeps f's stream metrics.
func (m *monitor) unwatched(st *matchState, f frames.Sampled) int64 {
	defer func() {
		st.prev, st.havePrev = f, true
		st.prev.Image = nil
	}()
	if !st.havePrev {
		m.Metrics.observeRead(m.StreamID, -1, f.Queued)
		return 0
	}
	span := f.MediaMS - st.prev.MediaMS
	m.Metrics.observeRead(m.StreamID, span, f.Queued)
	if skipped := f.Seq - st.prev.Seq - 1; skipped > 0 && span > 0 {
		return span * skipped / (skipped + 1)
	}
	return 0
}

// match matches the lines of each frame, in frame order, against the rules
// in force, tracks segments and publishes their records. When it ends, the
// open segments are closed and published, unless the stream was handed over
// (parent cancelled with Handoff as the cause).
func (m *monitor) match(parent, ctx context.Context) error {
	rules, matcher := m.Rules.Load()
	st := &matchState{ev: match.NewEvaluator(rules, matcher, m.Channel), inForce: rules, matcher: matcher, last: time.Now()}
	defer m.finish(parent, ctx, st)
	for r := range m.results {
		read, err := r.lines.Wait()
		if err != nil {
			if ctx.Err() != nil {
				return nil // a read cut short by a stop is no failure
			}
			return fmt.Errorf("ocr at %dms: %w", r.frame.MediaMS, err)
		}
		m.observe(ctx, st, r.frame, read)
	}
	return nil
}

// observe matches one frame's lines, tracks and publishes.
func (m *monitor) observe(ctx context.Context, st *matchState, f frames.Sampled, read []lines.Line) {
	st.last = f.Wall
	ls := make([]match.Line, len(read))
	for i, l := range read {
		b := l.Extent()
		ls[i] = match.Line{Text: l.Text, Confidence: math.Round(l.Confidence*10) / 10, Engine: l.Engine,
			Box: match.Box{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy()}}
	}
	if nr, nm := m.Rules.Load(); nr != nil && nr != st.inForce {
		st.ev.SetRules(nr, nm)
		st.inForce, st.matcher = nr, nm
		m.log.Info("rules taken up", "media_ms", f.MediaMS, "summary", nr.Summary())
	}
	hits := st.ev.Observe(f.MediaMS, ls)
	if m.Inspect != nil {
		m.inspect(st, f, read, ls, hits)
	}
	for _, h := range hits {
		m.Metrics.Matches.WithLabelValues(h.Rule).Inc()
	}
	unwatched := m.unwatched(st, f)
	m.tracker.Unwatched(unwatched)
	if f.Gaps > st.seenGaps {
		// Nobody watched for a while: what was on screen before may
		// still be, and is not taken for gone.
		st.seenGaps = f.Gaps
		m.tracker.Suspend()
	}
	before := m.tracker.Open()
	if len(hits) > 0 || st.ev.Remembers() {
		// Only a frame with a matched line can show evidence.
		boxes := make([]image.Rectangle, len(read))
		for i, l := range read {
			boxes[i] = l.Extent()
		}
		m.recent.add(f, boxes)
	}
	rs := m.tracker.Observe(f.MediaMS, f.Wall, hits)
	// The gauge leads the records: whoever sees a record and then asks
	// the metrics finds the segment counted.
	m.Metrics.Alerts.OpenSegments.Add(float64(m.tracker.Open() - before))
	m.publish(ctx, m.withEvidence(ctx, rs))
	m.log.Debug("frame", "media_ms", f.MediaMS, "lines", len(ls), "hits", len(hits))
	if m.Progress != nil {
		m.Progress(Progress{MediaMS: f.MediaMS, Duration: m.src.Info().Duration,
			Unwatched: Span{FromMS: f.MediaMS - unwatched, ToMS: f.MediaMS}})
	}
}

// finish closes and publishes the open segments at the end of the run, or
// leaves them open for the next watcher on a hand-over.
func (m *monitor) finish(parent, ctx context.Context, st *matchState) {
	open := m.tracker.Open()
	// As in observe, the gauge is settled before the records go out.
	m.Metrics.Alerts.OpenSegments.Sub(float64(open))
	if m.Handoff != nil && errors.Is(context.Cause(parent), m.Handoff) {
		if open > 0 {
			m.log.Info("handed over with segments open", "open", open)
		}
		return
	}
	m.publish(ctx, m.withEvidence(ctx, m.tracker.Close(st.last)))
}

// publish hands records to the sink; a failure is logged and counted, the
// sink having retried already.
func (m *monitor) publish(ctx context.Context, rs []alerts.Record) {
	for _, r := range rs {
		m.Metrics.Alerts.Records.WithLabelValues(string(r.State)).Inc()
		// Publishing outlives cancellation so that closing records of a
		// stopped stream still go out.
		if err := m.Sink.Publish(context.WithoutCancel(ctx), r); err != nil {
			m.Metrics.PublishErrors.Inc()
			m.log.Error("publish failed", "alert_id", r.AlertID, "state", r.State, "err", err)
		}
	}
}

// withEvidence stores the images rs's evidence needs, when there is an
// evidence store, and sets their keys in rs.
func (m *monitor) withEvidence(ctx context.Context, rs []alerts.Record) []alerts.Record {
	if m.Evidence != nil {
		for i := range rs {
			m.recent.attach(ctx, m.Evidence, &rs[i], m.log)
		}
	}
	return rs
}

// inspect hands Options.Inspect what the match stage saw at frame f.
func (m *monitor) inspect(st *matchState, f frames.Sampled, read []lines.Line, ls []match.Line, hits []match.Hit) {
	mm := st.matcher
	if mm == nil {
		mm = match.NewMatcher(st.inForce)
		st.matcher = mm
	}
	res := make([]match.Result, len(ls))
	for i, l := range ls {
		res[i] = mm.Match(l.Text)
	}
	m.Inspect(Inspection{Frame: f, Lines: read, Matches: res, Hits: hits})
}
