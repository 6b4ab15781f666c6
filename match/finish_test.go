package match

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// finishPairwise is finish as it was before it sorted: every span compared
// with every other. It is kept as the definition finish must agree with.
func finishPairwise(spans []Span) []Span {
	keep := func(s Span) bool {
		for _, o := range spans {
			switch {
			case s.Kind == KindPhrase && o.Kind == kindExclude && o.ID == s.ID && o.Start <= s.Start && s.End <= o.End:
				return false
			case s.How == HowFuzzy && o.How != HowFuzzy && o.Kind != kindExclude && o.Start < s.End && s.Start < o.End:
				return false
			}
		}
		return s.Kind != kindExclude
	}
	var kept []Span
	for _, s := range spans {
		if keep(s) {
			kept = append(kept, s)
		}
	}
	slices.SortFunc(kept, byStart)
	type reach struct {
		kind Kind
		id   string
		end  int
	}
	var reaches []reach
	out := []Span{}
	for _, s := range kept {
		j := slices.IndexFunc(reaches, func(r reach) bool { return r.kind == s.Kind && r.id == s.ID })
		switch {
		case j < 0:
			reaches = append(reaches, reach{s.Kind, s.ID, s.End})
		case s.End <= reaches[j].end:
			continue
		default:
			reaches[j].end = s.End
		}
		out = append(out, s)
	}
	return out
}

// TestFinishAgreesWithPairwise checks the sweeps of finish against the
// pairwise definition on random spans, dense enough that they nest, overlap
// and repeat.
func TestFinishAgreesWithPairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []Kind{KindBrand, KindPhrase, kindExclude}
	hows := []How{HowExact, HowNormalised, HowLookalike, HowFuzzy}
	ids := []string{"a", "b", "c"}
	var nt normText
	for range 20000 {
		n := 1 + rng.IntN(12)
		spans := make([]Span, n)
		for i := range spans {
			start := rng.IntN(10)
			s := Span{Start: start, End: start + 1 + rng.IntN(6), Kind: kinds[rng.IntN(3)], ID: ids[rng.IntN(3)], How: hows[rng.IntN(3)], Term: ids[rng.IntN(2)]}
			if s.Kind == kindExclude && s.How == HowFuzzy {
				s.How = HowExact // excludes are never fuzzy
			}
			if s.How == HowFuzzy {
				s.Distance = 1 + rng.IntN(2)
			}
			spans[i] = s
		}
		want := finishPairwise(slices.Clone(spans))
		res := Result{Spans: slices.Clone(spans)}
		(&lexicon{}).finish(&nt, &res)
		require.Equal(t, want, res.Spans, "spans %+v", spans)
	}
}

// TestMatchLongLineIsNotQuadratic matches a 1 MiB line of repeated captions,
// 170,000 hits, which took 16 s when finish compared every pair of hits.
func TestMatchLongLineIsNotQuadratic(t *testing.T) {
	m := NewMatcher(DefaultRules())
	line := strings.Repeat("GUCCI 1:1 replica ", (1<<20)/18)
	start := time.Now()
	res := m.Match(line)
	took := time.Since(start)
	require.Len(t, res.Spans, 3*((1<<20)/18))
	require.Equal(t, []string{"gucci"}, res.Brands)
	limit := 4 * time.Second // 0.3 s here
	if raceEnabled {
		limit *= 5
	}
	require.Less(t, took, limit)
}

// TestMatchIntoContextStopsWithinALine cancels the matching of a 4 MiB line
// while it runs: it stops soon after normalisation, which is not
// interrupted and takes about a twelfth of the whole.
func TestMatchIntoContextStopsWithinALine(t *testing.T) {
	m := NewMatcher(DefaultRules()).(ContextMatcher)
	line := strings.Repeat("GUCCI 1:1 replica ", (4<<20)/18)
	var res Result
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.MatchIntoContext(ctx, line, &res), context.Canceled)

	var nt normText
	start := time.Now()
	nt.reset(line)
	normalise := time.Since(start)

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	require.ErrorIs(t, m.MatchIntoContext(ctx, line, &res), context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*normalise+300*time.Millisecond)

	require.NoError(t, m.MatchIntoContext(context.Background(), "GUCCI 1:1 replica", &res))
	require.Equal(t, []string{"gucci"}, res.Brands)
}
