package match

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func evalRules(t *testing.T) *Rules {
	t.Helper()
	r, err := ParseRules([]byte(`
brands:
  - {id: gucci, names: [Gucci, 古驰], authorized_channels: [gucci-official]}
  - {id: louis-vuitton, names: [LV]}
phrases:
  - {id: replica, terms: [replica, "1:1", 高仿]}
  - {id: grade, terms: [AAA]}
rules:
  - {id: offer, severity: high, require: [brand, phrase], window: 10s}
  - {id: phrase-only, severity: low, require: [phrase]}
  - {id: same-frame, severity: medium, require: [phrase, brand]}
`))
	require.NoError(t, err)
	return r
}

// frame is one sampled frame fed to Observe.
type frame struct {
	atMS  int64
	lines []string
}

// observeAll feeds frames and returns the rule ids that held at each.
func observeAll(e *Evaluator, frames []frame) [][]string {
	out := [][]string{}
	for _, f := range frames {
		var lines []Line
		for i, s := range f.lines {
			lines = append(lines, Line{Text: s, Confidence: 90, Box: Box{Y: 10 * i}})
		}
		ids := []string{}
		for _, h := range e.Observe(f.atMS, lines) {
			ids = append(ids, h.Rule)
		}
		out = append(out, ids)
	}
	return out
}

func TestEvaluatorRules(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		frames  []frame
		want    [][]string
	}{
		{
			name:   "brand and phrase in one frame",
			frames: []frame{{0, []string{"GUCCI 1:1 replica"}}},
			want:   [][]string{{"offer", "phrase-only", "same-frame"}},
		},
		{
			name:   "brand and phrase on two lines of one frame",
			frames: []frame{{0, []string{"古驰", "高仿"}}},
			want:   [][]string{{"offer", "phrase-only", "same-frame"}},
		},
		{
			name:   "brand then phrase inside the window",
			frames: []frame{{0, []string{"Gucci"}}, {8000, []string{"高仿"}}},
			want:   [][]string{{}, {"offer", "phrase-only"}},
		},
		{
			name:   "phrase then brand inside the window",
			frames: []frame{{0, []string{"AAA"}}, {9000, []string{"LV"}}},
			want:   [][]string{{"phrase-only"}, {"offer"}},
		},
		{
			name:   "brand then phrase at the window's edge",
			frames: []frame{{1000, []string{"Gucci"}}, {11000, []string{"高仿"}}},
			want:   [][]string{{}, {"offer", "phrase-only"}},
		},
		{
			name:   "brand then phrase outside the window",
			frames: []frame{{1000, []string{"Gucci"}}, {11001, []string{"高仿"}}},
			want:   [][]string{{}, {"phrase-only"}},
		},
		{
			name:   "a later frame without a hit holds nothing",
			frames: []frame{{0, []string{"Gucci 高仿"}}, {1000, []string{"free shipping"}}, {2000, nil}},
			want:   [][]string{{"offer", "phrase-only", "same-frame"}, {}, {}},
		},
		{
			name:   "window 0 needs both in the same frame",
			frames: []frame{{0, []string{"LV"}}, {1, []string{"replica"}}},
			want:   [][]string{{}, {"offer", "phrase-only"}},
		},
		{
			name:    "authorized channel ignores its brand",
			channel: "gucci-official",
			frames:  []frame{{0, []string{"GUCCI 1:1 replica"}}, {1000, []string{"古驰"}}},
			want:    [][]string{{"phrase-only"}, {}},
		},
		{
			name:    "authorized channel keeps other brands",
			channel: "gucci-official",
			frames:  []frame{{0, []string{"LV 1:1"}}},
			want:    [][]string{{"offer", "phrase-only", "same-frame"}},
		},
		{
			name:    "another channel keeps the brand",
			channel: "some-shop",
			frames:  []frame{{0, []string{"GUCCI 1:1"}}},
			want:    [][]string{{"offer", "phrase-only", "same-frame"}},
		},
		{
			name:   "media time going back forgets the history",
			frames: []frame{{50000, []string{"Gucci"}}, {2000, []string{"高仿"}}},
			want:   [][]string{{}, {"phrase-only"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator(evalRules(t), nil, tt.channel)
			require.Equal(t, tt.want, observeAll(e, tt.frames))
		})
	}
}

func TestEvaluatorHit(t *testing.T) {
	r := evalRules(t)
	e := NewEvaluator(r, NewMatcher(r), "some-shop")
	require.Nil(t, e.Observe(0, []Line{{Text: "LV", Confidence: 80, Box: Box{X: 1}}}))
	require.Empty(t, e.Observe(4000, []Line{{Text: "Gucci bag", Confidence: 95}}))
	hits := e.Observe(8000, []Line{
		{Text: "nothing", Confidence: 99},
		{Text: "1:1 AAA", Confidence: 70, Box: Box{X: 2, Y: 3, W: 4, H: 5}},
	})
	require.Equal(t, []Hit{
		{
			Rule: "offer", Severity: "high",
			Brands:  []string{"gucci", "louis-vuitton"},
			Phrases: []string{"grade", "replica"},
			Evidence: []Evidence{
				{AtMS: 8000, Text: "1:1 AAA", Confidence: 70, Box: Box{X: 2, Y: 3, W: 4, H: 5}},
				{AtMS: 4000, Text: "Gucci bag", Confidence: 95},
				{AtMS: 0, Text: "LV", Confidence: 80, Box: Box{X: 1}},
			},
		},
		{
			Rule: "phrase-only", Severity: "low",
			Brands:  []string{},
			Phrases: []string{"grade", "replica"},
			Evidence: []Evidence{
				{AtMS: 8000, Text: "1:1 AAA", Confidence: 70, Box: Box{X: 2, Y: 3, W: 4, H: 5}},
			},
		},
	}, hits)
}

func TestEvaluatorEvidence(t *testing.T) {
	r := evalRules(t)
	e := NewEvaluator(r, nil, "")
	require.Equal(t, []string{"phrase-only"}, ruleIDs(e.Observe(0, []Line{{Text: "replica", Confidence: 10}})))
	var lines []Line
	for i := range 7 {
		lines = append(lines, Line{Text: fmt.Sprintf("LV %d", i), Confidence: float64(50 + i)})
	}
	hits := e.Observe(3000, lines)
	require.Equal(t, []string{"offer"}, ruleIDs(hits))
	// Five lines: the strongest of this frame, and the only phrase line, old
	// and weak as it is, because the rule requires a phrase.
	require.Equal(t, []Evidence{
		{AtMS: 3000, Text: "LV 6", Confidence: 56},
		{AtMS: 3000, Text: "LV 5", Confidence: 55},
		{AtMS: 3000, Text: "LV 4", Confidence: 54},
		{AtMS: 3000, Text: "LV 3", Confidence: 53},
		{AtMS: 0, Text: "replica", Confidence: 10},
	}, hits[0].Evidence)
}

func ruleIDs(hits []Hit) []string {
	ids := []string{}
	for _, h := range hits {
		ids = append(ids, h.Rule)
	}
	return ids
}

func TestEvaluatorPrunesHistory(t *testing.T) {
	tests := []struct {
		name     string
		rules    *Rules
		wantKept int
	}{
		{"10s window keeps 10s of frames", evalRules(t), 11},
		{
			"same-frame rules keep nothing",
			&Rules{
				Phrases: []Phrase{{ID: "p", Terms: []string{"replica"}}},
				Rules:   []Rule{{ID: "r", Severity: "low", Require: []Kind{"phrase"}}},
			},
			0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator(tt.rules, nil, "")
			for ms := int64(0); ms <= 60000; ms += 1000 {
				require.NotEmpty(t, e.Observe(ms, []Line{{Text: "replica"}}))
				require.LessOrEqual(t, len(e.history), tt.wantKept)
			}
			require.Len(t, e.history, tt.wantKept)
			for _, f := range e.history {
				require.GreaterOrEqual(t, f.atMS, int64(60000-10000))
			}
		})
	}
}

func TestEvaluatorHistoryBoundWhenTimeStandsStill(t *testing.T) {
	// The frames hold a brand, which the rule does not require: they are
	// kept, but no Observe has to walk them all.
	e := NewEvaluator(&Rules{
		Brands:  []Brand{{ID: "b", Names: []string{"LV"}}},
		Phrases: []Phrase{{ID: "p", Terms: []string{"replica"}}},
		Rules:   []Rule{{ID: "r", Severity: "low", Require: []Kind{"phrase"}, Window: MaxWindow}},
	}, nil, "")
	for range maxHistoryFrames + 10 {
		require.Nil(t, e.Observe(42, []Line{{Text: "LV"}}))
	}
	require.Len(t, e.history, maxHistoryFrames)
}

func TestEvaluatorReset(t *testing.T) {
	e := NewEvaluator(evalRules(t), nil, "")
	e.Observe(0, []Line{{Text: "Gucci"}})
	e.Reset()
	require.Equal(t, []string{"phrase-only"}, ruleIDs(e.Observe(1000, []Line{{Text: "AAA"}})))
}

func TestEvaluatorIgnoredBrands(t *testing.T) {
	require.Equal(t, []string{"gucci"}, NewEvaluator(evalRules(t), nil, "gucci-official").IgnoredBrands())
	require.Empty(t, NewEvaluator(evalRules(t), nil, "").IgnoredBrands())
	require.Nil(t, NewEvaluator(nil, nil, "").Observe(0, []Line{{Text: "Gucci"}}))
}

func TestEvaluatorsShareAMatcher(t *testing.T) {
	r := DefaultRules()
	m := NewMatcher(r)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			e := NewEvaluator(r, m, fmt.Sprintf("shop-%d", g))
			for ms := int64(0); ms < 20000; ms += 500 {
				hits := e.Observe(ms, []Line{{Text: "古驰 GUCCI"}, {Text: "1:1 高仿", Confidence: 80}})
				require.Equal(t, []string{"counterfeit-offer", "counterfeit-phrase"}, ruleIDs(hits))
			}
		})
	}
	wg.Wait()
}

func BenchmarkObserve(b *testing.B) {
	r := DefaultRules()
	e := NewEvaluator(r, NewMatcher(r), "shop")
	lines := []Line{
		{Text: "限时秒杀 今日特价 顺丰包邮", Confidence: 91},
		{Text: "古驰GUCCI 经典款", Confidence: 85},
		{Text: "1:1 高仿 AAA quality", Confidence: 77},
		{Text: "Brand new summer collection", Confidence: 88},
	}
	b.ReportAllocs()
	ms := int64(0)
	for b.Loop() {
		ms += 500 // two sampled frames a second
		if len(e.Observe(ms, lines)) == 0 {
			b.Fatal("no hits")
		}
	}
}

// TestEvaluatorNamesWhatTheFrameShows: an innocent brand caption shortly
// before a counterfeit one must not be named in the counterfeit one's hit, and
// the window fills in only a kind the frame lacks.
func TestEvaluatorNamesWhatTheFrameShows(t *testing.T) {
	e := NewEvaluator(evalRules(t), nil, "")
	e.Observe(0, []Line{{Text: "LV wallets new season", Confidence: 90}})
	hits := e.Observe(3000, []Line{{Text: "GUCCI bag 1:1 replica", Confidence: 90}})
	require.NotEmpty(t, hits)
	require.Equal(t, "offer", hits[0].Rule)
	require.Equal(t, []string{"gucci"}, hits[0].Brands)
	require.Equal(t, []string{"replica"}, hits[0].Phrases)

	hits = e.Observe(6000, []Line{{Text: "LV", Confidence: 90}})
	require.Len(t, hits, 1)
	require.Equal(t, []string{"louis-vuitton"}, hits[0].Brands)
	require.Equal(t, []string{"replica"}, hits[0].Phrases, "the phrase comes from the window")
}

// TestEvaluatorEvidenceIsWhatNamedTheHit: lines of earlier frames are evidence
// only for a kind the current frame lacks.
func TestEvaluatorEvidenceIsWhatNamedTheHit(t *testing.T) {
	e := NewEvaluator(evalRules(t), nil, "")
	e.Observe(0, []Line{{Text: "LV wallets new season", Confidence: 99}})
	hits := e.Observe(3000, []Line{{Text: "GUCCI bag 1:1 replica", Confidence: 80}})
	require.Equal(t, "offer", hits[0].Rule)
	require.Len(t, hits[0].Evidence, 1)
	require.Equal(t, "GUCCI bag 1:1 replica", hits[0].Evidence[0].Text)

	hits = e.Observe(6000, []Line{{Text: "LV", Confidence: 90}})
	require.Len(t, hits, 1)
	var texts []string
	for _, ev := range hits[0].Evidence {
		texts = append(texts, ev.Text)
	}
	require.ElementsMatch(t, []string{"LV", "GUCCI bag 1:1 replica"}, texts)
}
