package console

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/match"
)

// Unreviewed is the verdict filter of alerts that have none yet.
const Unreviewed = "unreviewed"

// Filter selects alerts; a zero field selects all.
type Filter struct {
	Stream   string
	Brand    string
	Severity match.Severity // exactly this severity
	State    alerts.State
	Verdict  string // a Verdict, or Unreviewed
}

// ParseFilter reads a filter from the query parameters stream, brand,
// severity, state and verdict.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{Stream: q.Get("stream"), Brand: q.Get("brand"), Verdict: q.Get("verdict")}
	if s := q.Get("severity"); s != "" {
		sev, err := match.ParseSeverity(s)
		if err != nil {
			return Filter{}, fmt.Errorf("severity: %w", err)
		}
		f.Severity = sev
	}
	if s := q.Get("state"); s != "" {
		st, err := alerts.ParseState(s)
		if err != nil {
			return Filter{}, fmt.Errorf("state: %w", err)
		}
		f.State = st
	}
	if f.Verdict != "" && f.Verdict != Unreviewed {
		if _, err := ParseVerdict(f.Verdict); err != nil {
			return Filter{}, fmt.Errorf("verdict: %w (or %s)", err, Unreviewed)
		}
	}
	return f, nil
}

func (f Filter) keep(v *AlertView) bool {
	switch {
	case f.Stream != "" && v.StreamID != f.Stream,
		f.Brand != "" && !slices.Contains(v.Brands, f.Brand),
		f.Severity != "" && v.Severity != f.Severity,
		f.State != "" && v.State != f.State:
		return false
	case f.Verdict == "":
		return true
	case f.Verdict == Unreviewed:
		return v.Review == nil
	}
	return v.Review != nil && string(v.Review.Verdict) == f.Verdict
}
