package match

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// checkResult asserts what holds for any text.
func checkResult(t *testing.T, res Result, text string) {
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
		require.Contains(t, []How{HowExact, HowNormalised, HowLookalike, HowFuzzy}, s.How)
		require.Equal(t, s.How == HowFuzzy, s.Distance > 0, "span %+v", s)
		if i > 0 {
			require.LessOrEqual(t, res.Spans[i-1].Start, s.Start)
		}
		if s.Kind == KindBrand {
			require.Contains(t, res.Brands, s.ID)
		} else {
			require.Equal(t, KindPhrase, s.Kind)
			require.Contains(t, res.Phrases, s.ID)
		}
	}
}

// upperASCII upper-cases the ASCII letters of s.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// fullwidth turns the printable ASCII of s into fullwidth forms and the
// ASCII space into the ideographic space.
func fullwidth(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte(s[i]) // keep invalid bytes as they are
		case r == ' ':
			b.WriteRune('\u3000')
		case 0x21 <= r && r <= 0x7E:
			b.WriteRune(r + 0xFEE0)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// FuzzMatch normalises and matches any text: no panic, spans inside the
// input and consistent, and the same brands and phrases whatever the case
// and the width of its ASCII.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"",
		"古驰GUCCI高仿包包",
		"1:1 replica super  copy",
		"SILVER Guccione LVMH",
		"ＧＵＣＣＩ 1：1 AAA quality AAAA",
		"Yves Saint Laurent\u3000Saint   Laurent",
		"\xff\xfeGucci\xc3",
		"HERMÈS Hermès hermes Herrnes",
		"G U C C I a L.V Louis Vuiton Balenciaaga 路易威鼞",
		"replica furniture $upreme Pr@da Ch4nel",
	} {
		f.Add(s)
	}
	m := NewMatcher(DefaultRules()).(ContextMatcher)
	f.Fuzz(func(t *testing.T, text string) {
		var res Result
		m.MatchInto(text, &res)
		checkResult(t, res, text)
		var withCtx Result
		require.NoError(t, m.MatchIntoContext(context.Background(), text, &withCtx))
		require.Equal(t, res, withCtx)
		for _, v := range []string{upperASCII(text), fullwidth(text)} {
			var other Result
			m.MatchInto(v, &other)
			checkResult(t, other, v)
			require.Equal(t, res.Brands, other.Brands, "%q vs %q", text, v)
			require.Equal(t, res.Phrases, other.Phrases, "%q vs %q", text, v)
		}
	})
}
