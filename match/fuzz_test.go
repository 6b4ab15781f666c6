package match

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveMatch is the reference for the automaton: every entry tried at every
// position of the normalised text.
func naiveMatch(lx *lexicon, text string) []Span {
	var nt normText
	nt.reset(text)
	spans := []Span{}
	for _, e := range lx.entries {
		term := normalizeTerm(e.term)
		for start := 0; start+len(term) <= len(nt.runes); start++ {
			end := start + len(term)
			if !slices.Equal(nt.runes[start:end], term) {
				continue
			}
			if e.boundStart && start > 0 && isWordRune(nt.runes[start-1]) ||
				e.boundEnd && end < len(nt.runes) && isWordRune(nt.runes[end]) {
				continue
			}
			b, en := nt.starts[start], nt.ends[end-1]
			spans = append(spans, Span{Start: b, End: en, Kind: e.kind, ID: e.id, Term: e.term, Text: text[b:en]})
		}
	}
	return dropContained(spans)
}

// checkResult asserts what holds for any text.
func checkResult(t *testing.T, m Matcher, text string) {
	res := m.Match(text)
	require.Equal(t, text, res.Text)
	require.NotNil(t, res.Brands)
	require.NotNil(t, res.Phrases)
	require.NotNil(t, res.Spans)
	require.True(t, slices.IsSorted(res.Brands))
	require.True(t, slices.IsSorted(res.Phrases))
	require.Len(t, slices.Compact(slices.Clone(res.Brands)), len(res.Brands))
	require.Len(t, slices.Compact(slices.Clone(res.Phrases)), len(res.Phrases))
	for i, s := range res.Spans {
		require.True(t, 0 <= s.Start && s.Start < s.End && s.End <= len(text), "span %+v in %q", s, text)
		require.Equal(t, text[s.Start:s.End], s.Text)
		if i > 0 {
			require.LessOrEqual(t, res.Spans[i-1].Start, s.Start)
		}
		if s.Kind == KindBrand {
			require.Contains(t, res.Brands, s.ID)
		} else {
			require.Contains(t, res.Phrases, s.ID)
		}
	}
	require.Equal(t, naiveMatch(m.(*lexicon), text), res.Spans, "text %q", text)
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"",
		"古驰GUCCI高仿包包",
		"1:1 replica super  copy",
		"SILVER Guccione LVMH",
		"ＧＵＣＣＩ 1：1 AAA quality AAAA",
		"Yves Saint Laurent\u3000Saint   Laurent",
		"\xff\xfeGucci\xc3",
		"HERMÈS Hermès hermes",
	} {
		f.Add(s)
	}
	m := NewMatcher(DefaultRules())
	f.Fuzz(func(t *testing.T, text string) {
		checkResult(t, m, text)
	})
}

// TestMatchAgainstReference runs the automaton against the reference on
// texts made of pieces of the lexicon, which is where the two could differ.
func TestMatchAgainstReference(t *testing.T) {
	m := NewMatcher(DefaultRules())
	pieces := []string{
		"Gucci", "GUCC", "ci", "古驰", "古", "驰", "高仿", "高", "仿", "LV", "lv", "SILVER",
		"1:1", "1", ":", "：", "AAA", "A", "A货", "super", "copy", " ", "  ", "\t", "\u3000",
		"Saint", "Laurent", "Yves", "-", "Ray", "Ban", "原单", "x", "é", "È", "\xff",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkResult(t, m, b.String())
	}
}
