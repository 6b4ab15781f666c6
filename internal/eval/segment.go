package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/streamwatch/streamwatch/alerts"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// RuleCounterfeitOffer is the rule whose alerts are scored; the others (the low
// counterfeit-phrase rule) are kept only as evidence for misses.
const RuleCounterfeitOffer = "counterfeit-offer"

// Evidence is a piece of text a detector read, and when.
type Evidence struct {
	AtMS int64  `json:"at_ms"`
	Text string `json:"text"`
}

// Segment is a stretch of media time in which a brand and a counterfeit phrase
// were seen together: a ground-truth offer or an alert.
type Segment struct {
	// StartMS and EndMS bound the segment. For truth, EndMS is exclusive (the
	// caption's end); for an alert it is the time of its latest hit.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Brands and Phrases are rule ids, sorted and unique.
	Brands  []string `json:"brands"`
	Phrases []string `json:"phrases"`
	// Rule is the alerting rule; empty for truth.
	Rule string `json:"rule,omitempty"`
	// Evidence holds the caption texts (truth) or the lines read (alerts).
	Evidence []Evidence `json:"evidence,omitempty"`
}

// overlaps reports whether alert a shares media time with truth t: a's hits are
// instants, so its end is inclusive, while a caption's end is exclusive.
func (t Segment) overlaps(a Segment) bool {
	return a.StartMS < t.EndMS && a.EndMS >= t.StartMS
}

// TruthSegments returns the counterfeit offers of a clip: one segment per
// counterfeit caption, with captions of the same brand and phrase that overlap
// or touch merged into one, sorted by start.
func TruthSegments(captions []clipgen.Caption) []Segment {
	type key struct{ brand, phrase string }
	byKey := map[key][]clipgen.Caption{}
	var keys []key
	for _, c := range captions {
		if !c.Counterfeit {
			continue
		}
		k := key{c.Brand, c.Phrase}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	var segs []Segment
	for _, k := range keys {
		cs := byKey[k]
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].StartMS < cs[j].StartMS })
		var cur *Segment
		for _, c := range cs {
			ev := Evidence{AtMS: c.StartMS, Text: c.Text}
			if cur != nil && c.StartMS <= cur.EndMS {
				cur.EndMS = max(cur.EndMS, c.EndMS)
				cur.Evidence = append(cur.Evidence, ev)
				continue
			}
			segs = append(segs, Segment{
				StartMS: c.StartMS, EndMS: c.EndMS,
				Brands: []string{k.brand}, Phrases: []string{k.phrase},
				Evidence: []Evidence{ev},
			})
			cur = &segs[len(segs)-1]
		}
	}
	sortSegments(segs)
	return segs
}

func sortSegments(segs []Segment) {
	sort.SliceStable(segs, func(i, j int) bool {
		if segs[i].StartMS != segs[j].StartMS {
			return segs[i].StartMS < segs[j].StartMS
		}
		return segs[i].EndMS < segs[j].EndMS
	})
}

// ErrNoAlertID is returned, wrapped, for an alert record without alert_id.
var ErrNoAlertID = errors.New("eval: no alert_id")

// record is a streamwatch alert record (README, "Alert records").
type record = alerts.Record

// ParseRecords reads streamwatch's JSON-lines alert records and returns one
// segment per alert id, of every rule, in order of start: the closed record's
// times (the latest record's when an alert was never closed), and the brands,
// phrases and evidence of all its records together.
func ParseRecords(r io.Reader) ([]Segment, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	type alert struct {
		seg    Segment
		closed bool
		rev    int
	}
	byID := map[string]*alert{}
	var order []string
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("record on line %d: %w", line, err)
		}
		if rec.AlertID == "" {
			return nil, fmt.Errorf("record on line %d: %w", line, ErrNoAlertID)
		}
		a, ok := byID[rec.AlertID]
		if !ok {
			a = &alert{seg: Segment{Rule: rec.Rule}, rev: -1}
			byID[rec.AlertID] = a
			order = append(order, rec.AlertID)
		}
		a.seg.Brands = union(a.seg.Brands, rec.Brands)
		a.seg.Phrases = union(a.seg.Phrases, rec.Phrases)
		for _, e := range rec.Evidence {
			ev := Evidence{AtMS: e.AtMS, Text: e.Text}
			if !slices.Contains(a.seg.Evidence, ev) {
				a.seg.Evidence = append(a.seg.Evidence, ev)
			}
		}
		// The closed record has the final times; before it, the latest revision.
		if !a.closed && (rec.State == "closed" || rec.Revision >= a.rev) {
			a.seg.StartMS, a.seg.EndMS = rec.StartMS, rec.EndMS
			a.rev = rec.Revision
			a.closed = rec.State == "closed"
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	segs := make([]Segment, 0, len(order))
	for _, id := range order {
		s := byID[id].seg
		sort.SliceStable(s.Evidence, func(i, j int) bool { return s.Evidence[i].AtMS < s.Evidence[j].AtMS })
		segs = append(segs, s)
	}
	sortSegments(segs)
	return segs, nil
}

// OfRule returns the segments of rule id.
func OfRule(segs []Segment, id string) []Segment {
	var out []Segment
	for _, s := range segs {
		if s.Rule == id {
			out = append(out, s)
		}
	}
	return out
}

// union returns the sorted set of a and b together.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
