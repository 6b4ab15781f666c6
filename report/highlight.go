package report

import (
	"github.com/streamwatch/streamwatch/match"
)

// Piece is a run of text in the report, marked when a brand or phrase matched
// there.
type Piece struct {
	Text string
	Kind match.Kind // empty for text that matched nothing
	ID   string     // the brand or phrase id that matched
}

// highlight cuts text into pieces at the spans m finds in it; overlapping
// spans after the first are left unmarked. A nil m marks nothing.
func highlight(m match.Matcher, text string) []Piece {
	if m == nil {
		return []Piece{{Text: text}}
	}
	var out []Piece
	at := 0
	for _, s := range m.Match(text).Spans {
		if s.Start < at || s.End > len(text) || s.End <= s.Start {
			continue
		}
		if s.Start > at {
			out = append(out, Piece{Text: text[at:s.Start]})
		}
		out = append(out, Piece{Text: text[s.Start:s.End], Kind: s.Kind, ID: s.ID})
		at = s.End
	}
	if at < len(text) || len(out) == 0 {
		out = append(out, Piece{Text: text[at:]})
	}
	return out
}
