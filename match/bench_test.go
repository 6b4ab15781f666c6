package match

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// genRules makes a lexicon of the size a platform has: brands with a Latin
// name, a two-word Latin alias and a Chinese name, and phrases.
func genRules(brands, phrases int) *Rules {
	rng := rand.New(rand.NewPCG(7, 11))
	syll := []string{"ka", "lo", "mi", "ver", "san", "tu", "bel", "ro", "gan", "zi", "dor", "fen", "qui", "ast", "ly", "mon", "pra", "ce", "ne", "vo"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		return b.String()
	}
	han := func(n int) string {
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = rune(0x4E00 + rng.IntN(0x5000))
		}
		return string(rs)
	}
	r := &Rules{Rules: []Rule{{ID: "r", Severity: "high", Require: []Kind{KindBrand, KindPhrase}}}}
	for i := range brands {
		w := word(2 + rng.IntN(3))
		r.Brands = append(r.Brands, Brand{ID: fmt.Sprintf("b%d", i), Names: []string{
			w + fmt.Sprint(i%7), w + " " + word(2), han(3 + rng.IntN(2)),
		}})
	}
	for i := range phrases {
		r.Phrases = append(r.Phrases, Phrase{ID: fmt.Sprintf("p%d", i), Terms: []string{word(3), word(2) + " " + word(2), han(2)}})
	}
	return r
}

// benchText is about 1 KB of shop captions, English and Chinese, with a few
// names and phrases of the default rules in it.
func benchText() string {
	var b strings.Builder
	for b.Len() < 1024 {
		b.WriteString("限时秒杀 今日特价 顺丰包邮 Brand new summer collection, silver tone hardware, free shipping ")
	}
	b.WriteString("古驰GUCCI 1:1 高仿 AAA quality Louis Vuiton")
	return b.String()
}

func TestCompileLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 30,000 names")
	}
	r := genRules(10000, 200)
	start := time.Now()
	m := NewMatcher(r)
	if !raceEnabled { // the race detector makes it several times slower
		require.Less(t, time.Since(start), time.Second)
	}
	name := r.Brands[42].Names[0]
	res := m.Match("buy " + name + " now")
	require.Contains(t, res.Brands, "b42")
}

func BenchmarkCompile10k(b *testing.B) {
	r := genRules(10000, 200)
	b.ReportAllocs()
	for b.Loop() {
		NewMatcher(r)
	}
}

func benchMatch(b *testing.B, m Matcher) {
	text := benchText()
	im := m.(IntoMatcher)
	var res Result
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		im.MatchInto(text, &res)
	}
}

// BenchmarkMatch10k is the hot path: 1 KB against 10,000 brands × 3 names
// and 200 phrases, fuzzy matching included.
func BenchmarkMatch10k(b *testing.B) {
	benchMatch(b, NewMatcher(genRules(10000, 200)))
}

// BenchmarkMatchDefault is the same text against the built-in rules.
func BenchmarkMatchDefault(b *testing.B) {
	benchMatch(b, NewMatcher(DefaultRules()))
}

// BenchmarkBaselineNormalise is the normalisation alone, the floor of Match.
func BenchmarkBaselineNormalise(b *testing.B) {
	text := benchText()
	var nt normText
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		nt.reset(text)
	}
}

// BenchmarkBaselineContains10k is the naive way: strings.Contains of every
// lower-cased name and term in the lower-cased text, no normalisation, no
// boundaries, no fuzzy matching.
func BenchmarkBaselineContains10k(b *testing.B) {
	r := genRules(10000, 200)
	var terms []string
	for _, br := range r.Brands {
		for _, n := range br.Names {
			terms = append(terms, strings.ToLower(n))
		}
	}
	for _, p := range r.Phrases {
		for _, t := range p.Terms {
			terms = append(terms, strings.ToLower(t))
		}
	}
	text := strings.ToLower(benchText())
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, t := range terms {
			if strings.Contains(text, t) {
				n++
			}
		}
		_ = n
	}
}
