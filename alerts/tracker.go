package alerts

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/streamwatch/streamwatch/match"
)

// TrackerOptions configure the segment state machine. Zero values mean the
// documented defaults.
type TrackerOptions struct {
	StreamID string
	Channel  string
	// Gap is the longest stretch of media time without a hit that a segment
	// bridges. Default 3s.
	Gap time.Duration
	// UpdateEvery is the least media time between two periodic update
	// records of an open segment. Default 5s.
	UpdateEvery time.Duration
	// MinHits is how many sampled frames must show a hit (no more than Gap
	// apart) before a segment opens, so that one OCR glitch pages nobody. The
	// segment then starts at the first of them. Default 2.
	MinHits int
	// MaxLength closes a segment that has been open this long (media time)
	// and opens a new one, so that a caption left up for hours gives records
	// of bounded span. Default 10m.
	MaxLength time.Duration
	// MaxEvidence is how many evidence lines a record carries. Default 5.
	MaxEvidence int
}

// segment is one suspect segment, open or still pending confirmation.
type segment struct {
	key        string
	id         string
	rule       string
	severity   match.Severity
	revision   int
	hits       int
	startMS    int64
	lastMS     int64
	lastUpdate int64
	startedAt  time.Time
	brands     []string
	phrases    []string
	evidence   []match.Evidence
	open       bool // confirmed: MinHits reached, records published
	// resumed: taken over from another watcher (Resume) and not observed
	// since; quietFrom is the media time from which its gap counts (the
	// first frame observed after the take-over, not its last hit, since
	// nobody watched in between).
	resumed   bool
	quietFrom int64
	// unwatchedAt is the tracker's unwatched total when quiet began to
	// count (at lastMS, or quietFrom): what went unwatched since does not
	// count as quiet.
	unwatchedAt int64
}

// quiet is the media time up to atMS that the segment has been watched
// without a hit: the time since its last hit (or since it was resumed),
// less what went unwatched meanwhile.
func (s *segment) quiet(atMS, unwatched int64) int64 {
	return atMS - max(s.lastMS, s.quietFrom) - (unwatched - s.unwatchedAt)
}

// Tracker turns the rule hits of one stream, frame by frame, into segment
// records. Segments are kept per brand: when several rules hold for one
// caption, the brand gets one segment, under the most severe of them, so a
// caption pages once. Hits that name no brand (a phrase-only rule) get a
// segment per rule, and only on frames where no brand's rule holds.
// A Tracker is not safe for concurrent use: one stream, one goroutine.
type Tracker struct {
	opts TrackerOptions
	segs map[string]*segment // by key: "brand:<id>" or "rule:<id>"
	// unwatched is the media time, so far, that went unwatched between
	// observed frames (frames dropped or skipped under load): see Unwatched.
	unwatched int64
}

// NewTracker returns a tracker for one stream.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.Gap <= 0 {
		opts.Gap = 3 * time.Second
	}
	if opts.UpdateEvery <= 0 {
		opts.UpdateEvery = 5 * time.Second
	}
	if opts.MinHits <= 0 {
		opts.MinHits = 2
	}
	if opts.MaxLength <= 0 {
		opts.MaxLength = 10 * time.Minute
	}
	if opts.MaxEvidence <= 0 {
		opts.MaxEvidence = 5
	}
	return &Tracker{opts: opts, segs: map[string]*segment{}}
}

// MinHits is the number of sampled frames with a hit before a segment
// opens (TrackerOptions.MinHits, or its default).
func (t *Tracker) MinHits() int { return t.opts.MinHits }

// Open returns the number of open (confirmed) segments.
func (t *Tracker) Open() int {
	n := 0
	for _, s := range t.segs {
		if s.open {
			n++
		}
	}
	return n
}

// keyed picks, for each segment key, the hit that names it this frame.
func keyed(hits []match.Hit) map[string]match.Hit {
	out := map[string]match.Hit{}
	better := func(a, b match.Hit) bool { // a more severe than b, ties by rule id
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		return a.Rule < b.Rule
	}
	branded := false
	for _, h := range hits {
		for _, b := range h.Brands {
			k := "brand:" + b
			if cur, ok := out[k]; !ok || better(h, cur) {
				out[k] = h
			}
			branded = true
		}
	}
	if !branded {
		for _, h := range hits {
			out["rule:"+h.Rule] = h
		}
	}
	return out
}

// Observe takes the hits of the sampled frame at media time atMS (frames come
// in increasing media time) and returns the records it causes, in a
// deterministic order.
func (t *Tracker) Observe(atMS int64, wall time.Time, hits []match.Hit) []Record {
	var out []Record
	// Close (or forget, if never confirmed) what has been quiet for longer
	// than the gap, before opening anew.
	for _, k := range t.keys() {
		s := t.segs[k]
		if s.resumed {
			s.resumed, s.quietFrom, s.unwatchedAt = false, atMS, t.unwatched
		}
		if s.quiet(atMS, t.unwatched) > t.opts.Gap.Milliseconds() {
			if s.open {
				out = append(out, t.record(s, StateClosed, wall))
			}
			delete(t.segs, k)
		}
	}
	now := keyed(hits)
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h := now[k]
		s, ok := t.segs[k]
		if ok && s.open && atMS-s.startMS >= t.opts.MaxLength.Milliseconds() {
			out = append(out, t.record(s, StateClosed, wall))
			delete(t.segs, k)
			ok = false
		}
		if !ok {
			s = &segment{key: k, rule: h.Rule, severity: h.Severity, startMS: atMS, lastUpdate: atMS, startedAt: wall}
			t.segs[k] = s
		}
		s.lastMS, s.unwatchedAt = atMS, t.unwatched
		s.hits++
		if h.Severity.Rank() > s.severity.Rank() && !s.open {
			s.rule, s.severity = h.Rule, h.Severity
		}
		joined := t.merge(s, h)
		switch {
		case !s.open && s.hits >= t.opts.MinHits:
			s.open = true
			s.id = AlertID(t.opts.StreamID, s.rule, s.startMS, k)
			s.lastUpdate = atMS
			out = append(out, t.record(s, StateOpen, wall))
		case s.open && (joined || atMS-s.lastUpdate >= t.opts.UpdateEvery.Milliseconds()):
			s.lastUpdate = atMS
			out = append(out, t.record(s, StateUpdate, wall))
		}
	}
	return out
}

// Resume takes over the segments another watcher of the stream left open:
// recs holds the last record of each (see Recover). A resumed segment keeps
// its alert id and counts its revisions on; if its brand (or, for a
// phrase-only rule, its rule) is seen again within the gap after the first
// frame observed here, it continues, else it is closed, its end where it was
// last seen. Records of other streams and closed records are ignored; a
// segment open here already is not replaced. Call Resume before Observe.
//
// A record whose StartedAt does not parse is resumed all the same (its alert
// id is what matters to those who follow it), with a zero start time, and
// reported in the error, which wraps ErrStartedAt.
func (t *Tracker) Resume(recs []Record) (int, error) {
	n := 0
	var errs []error
	for _, r := range recs {
		if r.StreamID != t.opts.StreamID || r.State == StateClosed || r.AlertID == "" {
			continue
		}
		key := "rule:" + r.Rule
		if len(r.Brands) > 0 {
			key = "brand:" + r.Brands[0]
		}
		if _, ok := t.segs[key]; ok {
			continue
		}
		started, err := time.Parse(time.RFC3339Nano, r.StartedAt)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: alert %s: %w", ErrStartedAt, r.AlertID, err))
		}
		s := &segment{key: key, id: r.AlertID, rule: r.Rule, severity: r.Severity, revision: r.Revision + 1,
			hits: t.opts.MinHits, startMS: r.StartMS, lastMS: r.EndMS, lastUpdate: r.EndMS, startedAt: started,
			brands: slices.Clone(r.Brands), phrases: slices.Clone(r.Phrases), open: true, resumed: true}
		for _, e := range r.Evidence {
			s.evidence = append(s.evidence, e.Evidence)
		}
		t.segs[key] = s
		n++
	}
	return n, errors.Join(errs...)
}

// ErrStartedAt is reported by Resume for a record whose StartedAt is not an
// RFC 3339 time.
var ErrStartedAt = errors.New("alerts: record started_at unreadable")

// Suspend tells the tracker that the stream went unwatched (a reconnect):
// open segments do not count the span as quiet. Each waits Gap from the
// next frame observed, as after Resume, so a caption still on screen after
// the outage continues its alert instead of opening another.
func (t *Tracker) Suspend() {
	for _, s := range t.segs {
		if s.open {
			s.resumed = true
		}
	}
}

// Unwatched tells the tracker that ms of media time before the next frame
// it observes went unwatched: frames sampled in that span were dropped or
// skipped because reading could not keep up. A drop is no evidence that a
// caption went away, so that span does not count towards any segment's gap
// (pending segments included): segments neither close nor split because
// of drops, only because watched frames showed no hit for longer than Gap.
// Call it before the Observe of the frame after the span.
func (t *Tracker) Unwatched(ms int64) {
	if ms > 0 {
		t.unwatched += ms
	}
}

// Close ends every open segment, as at the end of the stream.
func (t *Tracker) Close(wall time.Time) []Record {
	var out []Record
	for _, k := range t.keys() {
		if s := t.segs[k]; s.open {
			out = append(out, t.record(s, StateClosed, wall))
		}
		delete(t.segs, k)
	}
	return out
}

func (t *Tracker) keys() []string {
	keys := make([]string, 0, len(t.segs))
	for k := range t.segs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// merge adds the hit's ids and evidence to s and reports whether a brand or
// phrase joined.
func (t *Tracker) merge(s *segment, h match.Hit) bool {
	joined := false
	brands := h.Brands
	if b, ok := strings.CutPrefix(s.key, "brand:"); ok {
		brands = []string{b}
	}
	for _, b := range brands {
		if !slices.Contains(s.brands, b) {
			s.brands = append(s.brands, b)
			joined = true
		}
	}
	for _, p := range h.Phrases {
		if !slices.Contains(s.phrases, p) {
			s.phrases = append(s.phrases, p)
			joined = true
		}
	}
	sort.Strings(s.brands)
	sort.Strings(s.phrases)
	for _, e := range h.Evidence {
		i := slices.IndexFunc(s.evidence, func(x match.Evidence) bool { return x.Text == e.Text })
		switch {
		case i < 0:
			s.evidence = append(s.evidence, e)
		case e.Confidence > s.evidence[i].Confidence:
			s.evidence[i] = e
		}
	}
	sort.SliceStable(s.evidence, func(i, j int) bool {
		if s.evidence[i].Confidence != s.evidence[j].Confidence {
			return s.evidence[i].Confidence > s.evidence[j].Confidence
		}
		return s.evidence[i].AtMS < s.evidence[j].AtMS
	})
	if len(s.evidence) > t.opts.MaxEvidence {
		s.evidence = s.evidence[:t.opts.MaxEvidence]
	}
	return joined && s.open
}

func (t *Tracker) record(s *segment, state State, wall time.Time) Record {
	r := Record{
		SchemaVersion: SchemaVersion,
		AlertID:       s.id,
		Revision:      s.revision,
		State:         state,
		Rule:          s.rule,
		Severity:      s.severity,
		StreamID:      t.opts.StreamID,
		Channel:       t.opts.Channel,
		Brands:        slices.Clone(s.brands),
		Phrases:       slices.Clone(s.phrases),
		StartMS:       s.startMS,
		EndMS:         s.lastMS,
		StartedAt:     FormatTime(s.startedAt),
		UpdatedAt:     FormatTime(wall),
		Evidence:      make([]Evidence, len(s.evidence)),
	}
	for i, e := range s.evidence {
		r.Evidence[i] = Evidence{Evidence: e}
	}
	if r.Brands == nil {
		r.Brands = []string{}
	}
	if r.Phrases == nil {
		r.Phrases = []string{}
	}
	s.revision++
	return r
}
