package eval

import (
	"fmt"
	"slices"
	"strings"
)

// MaxLateMS is how long after an offer starts an alert may start and still count
// as finding it: a moderator acting 3 s late still catches the pitch.
const MaxLateMS = 3000

// Miss is a truth segment no alert found, and why.
type Miss struct {
	Truth  Segment `json:"truth"`
	Reason string  `json:"reason"`
}

// Score is how one detector did on one clip.
type Score struct {
	// Truth counts the clip's counterfeit offers, Found those an alert found.
	Truth int `json:"truth"`
	Found int `json:"found"`
	// Alerts counts counterfeit-offer alerts, TrueAlerts those that match an offer.
	Alerts     int `json:"alerts"`
	TrueAlerts int `json:"true_alerts"`
	// Misses are the offers not found; FalseAlarms the alerts matching no offer.
	Misses      []Miss    `json:"misses,omitempty"`
	FalseAlarms []Segment `json:"false_alarms,omitempty"`
}

// ScoreClip scores alerts against the truth segments of one clip.
//
// An offer is found when an alert names its brand and its phrase, overlaps it in
// time, and starts at most MaxLateMS after it. An alert is true when it names the
// brand of an offer it overlaps; on a clip without offers every alert is false.
func ScoreClip(truth, alerts []Segment) Score {
	s := Score{Truth: len(truth), Alerts: len(alerts)}
	for _, t := range truth {
		if slices.ContainsFunc(alerts, func(a Segment) bool { return finds(a, t) }) {
			s.Found++
			continue
		}
		s.Misses = append(s.Misses, Miss{Truth: t, Reason: missReason(t, alerts)})
	}
	for _, a := range alerts {
		if slices.ContainsFunc(truth, func(t Segment) bool { return t.overlaps(a) && namesAny(a.Brands, t.Brands) }) {
			s.TrueAlerts++
			continue
		}
		s.FalseAlarms = append(s.FalseAlarms, a)
	}
	return s
}

func finds(a Segment, t Segment) bool {
	return t.overlaps(a) && namesAll(a.Brands, t.Brands) && namesAll(a.Phrases, t.Phrases) &&
		a.StartMS <= t.StartMS+MaxLateMS
}

func namesAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func namesAny(have, want []string) bool {
	return slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
}

// missReason says what came closest to finding t, for the engineer reading -v.
func missReason(t Segment, alerts []Segment) string {
	var why []string
	for _, a := range alerts {
		if !t.overlaps(a) {
			continue
		}
		desc := fmt.Sprintf("alert %s", span(a))
		switch {
		case !namesAll(a.Brands, t.Brands):
			why = append(why, fmt.Sprintf("%s names brands %v, not %v", desc, a.Brands, t.Brands))
		case !namesAll(a.Phrases, t.Phrases):
			why = append(why, fmt.Sprintf("%s names phrases %v, not %v", desc, a.Phrases, t.Phrases))
		default:
			why = append(why, fmt.Sprintf("%s starts %.1fs after the offer (limit %.0fs)",
				desc, float64(a.StartMS-t.StartMS)/1000, float64(MaxLateMS)/1000))
		}
	}
	if len(why) == 0 {
		return "no alert overlaps it"
	}
	return strings.Join(why, "; ")
}

// span formats a segment's times as "1.5–6.5s".
func span(s Segment) string {
	return fmt.Sprintf("%s–%ss", secs(s.StartMS), secs(s.EndMS))
}

func secs(ms int64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", float64(ms)/1000), "0"), ".")
}
