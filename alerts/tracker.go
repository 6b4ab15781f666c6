package alerts

import (
	"slices"
	"sort"
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
	// MaxEvidence is how many evidence lines a record carries. Default 5.
	MaxEvidence int
}

type segment struct {
	id         string
	rule       string
	severity   string
	revision   int
	startMS    int64
	lastMS     int64
	lastUpdate int64
	startedAt  time.Time
	brands     []string
	phrases    []string
	evidence   []match.Evidence
}

// Tracker turns the rule hits of one stream, frame by frame, into segment
// records. It is not safe for concurrent use: one stream, one goroutine.
type Tracker struct {
	opts TrackerOptions
	open map[string]*segment // by rule
}

// NewTracker returns a tracker for one stream.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.Gap <= 0 {
		opts.Gap = 3 * time.Second
	}
	if opts.UpdateEvery <= 0 {
		opts.UpdateEvery = 5 * time.Second
	}
	if opts.MaxEvidence <= 0 {
		opts.MaxEvidence = 5
	}
	return &Tracker{opts: opts, open: map[string]*segment{}}
}

// Open returns the number of open segments.
func (t *Tracker) Open() int { return len(t.open) }

// Observe takes the hits of the sampled frame at media time atMS (frames come
// in increasing media time) and returns the records it causes, in a
// deterministic order.
func (t *Tracker) Observe(atMS int64, wall time.Time, hits []match.Hit) []Record {
	var out []Record
	held := map[string]bool{}
	for _, h := range hits {
		held[h.Rule] = true
	}
	// Close what has been quiet for longer than the gap, before opening anew.
	for _, rule := range t.rules() {
		s := t.open[rule]
		if atMS-s.lastMS > t.opts.Gap.Milliseconds() {
			out = append(out, t.record(s, StateClosed, wall))
			delete(t.open, rule)
		}
	}
	hits = slices.Clone(hits)
	sort.Slice(hits, func(i, j int) bool { return hits[i].Rule < hits[j].Rule })
	for _, h := range hits {
		s, ok := t.open[h.Rule]
		if !ok {
			s = &segment{
				id: AlertID(t.opts.StreamID, h.Rule, atMS), rule: h.Rule, severity: h.Severity,
				startMS: atMS, lastMS: atMS, lastUpdate: atMS, startedAt: wall,
			}
			t.merge(s, h)
			t.open[h.Rule] = s
			out = append(out, t.record(s, StateOpen, wall))
			continue
		}
		s.lastMS = atMS
		if t.merge(s, h) || atMS-s.lastUpdate >= t.opts.UpdateEvery.Milliseconds() {
			s.lastUpdate = atMS
			out = append(out, t.record(s, StateUpdate, wall))
		}
	}
	return out
}

// Close ends every open segment, as at the end of the stream.
func (t *Tracker) Close(wall time.Time) []Record {
	var out []Record
	for _, rule := range t.rules() {
		out = append(out, t.record(t.open[rule], StateClosed, wall))
		delete(t.open, rule)
	}
	return out
}

func (t *Tracker) rules() []string {
	rules := make([]string, 0, len(t.open))
	for r := range t.open {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	return rules
}

// merge adds the hit's ids and evidence to s and reports whether a brand or
// phrase joined.
func (t *Tracker) merge(s *segment, h match.Hit) bool {
	joined := false
	for _, b := range h.Brands {
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
	return joined
}

func (t *Tracker) record(s *segment, state string, wall time.Time) Record {
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
		Evidence:      slices.Clone(s.evidence),
	}
	if r.Brands == nil {
		r.Brands = []string{}
	}
	if r.Phrases == nil {
		r.Phrases = []string{}
	}
	if r.Evidence == nil {
		r.Evidence = []match.Evidence{}
	}
	s.revision++
	return r
}
