package eval

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

func offer(startMS, endMS int64, brand, phrase string) Segment {
	return Segment{StartMS: startMS, EndMS: endMS, Brands: []string{brand}, Phrases: []string{phrase}}
}

func alert(startMS, endMS int64, brands, phrases []string) Segment {
	return Segment{StartMS: startMS, EndMS: endMS, Brands: brands, Phrases: phrases, Rule: RuleCounterfeitOffer}
}

func TestScoreClip(t *testing.T) {
	gucci := offer(1500, 6500, "gucci", "replica")
	tests := []struct {
		name        string
		truth       []Segment
		alerts      []Segment
		found, true int
		reason      string // of the first miss, when there is one
	}{
		{
			name:   "alert naming brand and phrase inside the offer finds it",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(2000, 6000, []string{"gucci"}, []string{"replica"})},
			found:  1, true: 1,
		},
		{
			name:   "single-frame alert at the offer's first sample finds it",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(2000, 2000, []string{"gucci"}, []string{"replica"})},
			found:  1, true: 1,
		},
		{
			name:   "alert naming more brands and phrases still finds it",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(2000, 6000, []string{"gucci", "nike"}, []string{"high-grade-copy", "replica"})},
			found:  1, true: 1,
		},
		{
			name:   "alert starting exactly 3 s late finds it",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(4500, 6000, []string{"gucci"}, []string{"replica"})},
			found:  1, true: 1,
		},
		{
			name:   "alert starting more than 3 s late misses it but is no false alarm",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(5000, 6000, []string{"gucci"}, []string{"replica"})},
			found:  0, true: 1,
			reason: "alert 5–6s starts 3.5s after the offer (limit 3s)",
		},
		{
			name:   "alert naming another brand misses it and is false",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(2000, 6000, []string{"chanel"}, []string{"replica"})},
			found:  0, true: 0,
			reason: "alert 2–6s names brands [chanel], not [gucci]",
		},
		{
			name:   "alert naming the brand with another phrase misses it but is true",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(2000, 6000, []string{"gucci"}, []string{"high-grade-copy"})},
			found:  0, true: 1,
			reason: "alert 2–6s names phrases [high-grade-copy], not [replica]",
		},
		{
			name:   "alert after the offer ended does not overlap",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(6500, 8000, []string{"gucci"}, []string{"replica"})},
			found:  0, true: 0,
			reason: "no alert overlaps it",
		},
		{
			name:   "alert ending before the offer does not overlap",
			truth:  []Segment{gucci},
			alerts: []Segment{alert(0, 1000, []string{"gucci"}, []string{"replica"})},
			found:  0, true: 0,
			reason: "no alert overlaps it",
		},
		{
			name:  "no alert misses the offer",
			truth: []Segment{gucci},
			found: 0, true: 0,
			reason: "no alert overlaps it",
		},
		{
			name:   "any alert on a clip without offers is a false positive",
			alerts: []Segment{alert(2000, 3000, []string{"nike"}, []string{"replica"})},
			found:  0, true: 0,
		},
		{
			name:  "one alert spanning two offers finds both",
			truth: []Segment{offer(1500, 6500, "gucci", "high-grade-copy"), offer(1500, 6500, "prada", "replica")},
			alerts: []Segment{alert(2000, 6000, []string{"gucci", "prada"},
				[]string{"high-grade-copy", "replica"})},
			found: 2, true: 1,
		},
		{
			name:  "two offers, one found, one missed",
			truth: []Segment{offer(500, 3500, "rolex", "replica"), offer(8500, 11500, "prada", "replica")},
			alerts: []Segment{
				alert(1000, 3000, []string{"rolex"}, []string{"replica"}),
				alert(9000, 11000, []string{"rolex"}, []string{"replica"}), // window-filled, wrong brand
			},
			found: 1, true: 1,
			reason: "alert 9–11s names brands [rolex], not [prada]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ScoreClip(tc.truth, tc.alerts)
			require.Equal(t, len(tc.truth), s.Truth)
			require.Equal(t, len(tc.alerts), s.Alerts)
			require.Equal(t, tc.found, s.Found, "found")
			require.Equal(t, tc.true, s.TrueAlerts, "true alerts")
			require.Len(t, s.Misses, s.Truth-s.Found)
			require.Len(t, s.FalseAlarms, s.Alerts-s.TrueAlerts)
			if tc.reason != "" {
				require.Equal(t, tc.reason, s.Misses[0].Reason)
			}
		})
	}
}

func TestTruthSegments(t *testing.T) {
	cf := func(text string, startMS, endMS int64, brand, phrase string) clipgen.Caption {
		return clipgen.Caption{Text: text, StartMS: startMS, EndMS: endMS, Brand: brand, Phrase: phrase,
			Counterfeit: brand != "" && phrase != ""}
	}
	tests := []struct {
		name     string
		captions []clipgen.Caption
		want     []Segment
	}{
		{
			name:     "innocent, brand-only and phrase-only captions give no offer",
			captions: []clipgen.Caption{cf("Live sale", 0, 2000, "", ""), cf("Nike", 3000, 5000, "nike", ""), cf("AAA batteries", 6000, 8000, "", "high-grade-copy")},
		},
		{
			name:     "overlapping captions of one brand and phrase merge",
			captions: []clipgen.Caption{cf("GUCCI 1:1", 1000, 4000, "gucci", "replica"), cf("古驰 高仿", 3000, 6000, "gucci", "replica")},
			want: []Segment{{StartMS: 1000, EndMS: 6000, Brands: []string{"gucci"}, Phrases: []string{"replica"},
				Evidence: []Evidence{{1000, "GUCCI 1:1"}, {3000, "古驰 高仿"}}}},
		},
		{
			name:     "touching captions merge",
			captions: []clipgen.Caption{cf("b", 4000, 6000, "gucci", "replica"), cf("a", 1000, 4000, "gucci", "replica")},
			want: []Segment{{StartMS: 1000, EndMS: 6000, Brands: []string{"gucci"}, Phrases: []string{"replica"},
				Evidence: []Evidence{{1000, "a"}, {4000, "b"}}}},
		},
		{
			name:     "separate captions stay apart",
			captions: []clipgen.Caption{cf("a", 1000, 3000, "gucci", "replica"), cf("b", 8000, 9000, "gucci", "replica")},
			want: []Segment{
				{StartMS: 1000, EndMS: 3000, Brands: []string{"gucci"}, Phrases: []string{"replica"}, Evidence: []Evidence{{1000, "a"}}},
				{StartMS: 8000, EndMS: 9000, Brands: []string{"gucci"}, Phrases: []string{"replica"}, Evidence: []Evidence{{8000, "b"}}},
			},
		},
		{
			name:     "simultaneous captions of different brands stay apart",
			captions: []clipgen.Caption{cf("Prada bag replica", 1500, 6500, "prada", "replica"), cf("Gucci belt AAA", 1500, 6500, "gucci", "high-grade-copy")},
			want: []Segment{
				{StartMS: 1500, EndMS: 6500, Brands: []string{"prada"}, Phrases: []string{"replica"}, Evidence: []Evidence{{1500, "Prada bag replica"}}},
				{StartMS: 1500, EndMS: 6500, Brands: []string{"gucci"}, Phrases: []string{"high-grade-copy"}, Evidence: []Evidence{{1500, "Gucci belt AAA"}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, TruthSegments(tc.captions))
		})
	}
}

func TestScoreClipMergedTruth(t *testing.T) {
	// Two touching captions are one offer: one alert over both is one find, and
	// an alert that starts during the second caption, more than 3 s after the
	// first began, is late.
	truth := TruthSegments([]clipgen.Caption{
		{Text: "GUCCI 1:1", StartMS: 1000, EndMS: 4000, Brand: "gucci", Phrase: "replica", Counterfeit: true},
		{Text: "古驰 高仿", StartMS: 4000, EndMS: 8000, Brand: "gucci", Phrase: "replica", Counterfeit: true},
	})
	require.Len(t, truth, 1)
	s := ScoreClip(truth, []Segment{alert(1000, 7000, []string{"gucci"}, []string{"replica"})})
	require.Equal(t, 1, s.Truth)
	require.Equal(t, 1, s.Found)
	s = ScoreClip(truth, []Segment{alert(5000, 7000, []string{"gucci"}, []string{"replica"})})
	require.Equal(t, 0, s.Found)
	require.Equal(t, 1, s.TrueAlerts)
}
