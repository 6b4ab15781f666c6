package match

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

func testMatcher(t testing.TB) Matcher {
	t.Helper()
	r, err := ParseRules([]byte(`
brands:
  - {id: gucci, names: [Gucci, 古驰, 古馳]}
  - {id: louis-vuitton, names: [Louis Vuitton, LV]}
  - {id: hermes, names: [Hermès]}
  - {id: saint-laurent, names: [Yves Saint Laurent, Saint Laurent]}
phrases:
  - {id: replica, terms: [replica, "1:1", super copy, 高仿]}
  - {id: grade, terms: [AAA, AAA quality, A货]}
rules:
  - {id: r, severity: low, require: [brand, phrase]}
`))
	require.NoError(t, err)
	return NewMatcher(r)
}

// spanKeys renders spans as "kind:id:text" and checks that each span's Text
// is the input at its offsets.
func spanKeys(t *testing.T, res Result) []string {
	t.Helper()
	keys := []string{}
	for _, s := range res.Spans {
		require.Equal(t, res.Text[s.Start:s.End], s.Text)
		keys = append(keys, s.Kind+":"+s.ID+":"+s.Text)
	}
	return keys
}

func TestMatch(t *testing.T) {
	m := testMatcher(t)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty text", "", []string{}},
		{"nothing to find", "fresh strawberries 草莓", []string{}},
		{"exact case", "Gucci bag", []string{"brand:gucci:Gucci"}},
		{"upper case", "GUCCI BAG", []string{"brand:gucci:GUCCI"}},
		{"mixed case", "gUcCi", []string{"brand:gucci:gUcCi"}},
		{"non-ASCII case folding", "HERMÈS scarf", []string{"brand:hermes:HERMÈS"}},
		{"accents are not folded", "Hermes scarf", []string{}},
		{"fullwidth Latin", "ＧＵＣＣＩ包", []string{"brand:gucci:ＧＵＣＣＩ"}},
		{"LV alone", "LV bag", []string{"brand:louis-vuitton:LV"}},
		{"LV not inside SILVER", "SILVER ring", []string{}},
		{"LV not before a letter", "LVMH", []string{}},
		{"LV before punctuation", "(lv).", []string{"brand:louis-vuitton:lv"}},
		{"LV not next to a Cyrillic letter", "LVЖ", []string{}},
		{"LV next to Chinese", "正品LV包包", []string{"brand:louis-vuitton:LV"}},
		{"Gucci not inside Guccione", "Guccione", []string{}},
		{"Gucci not after a digit", "2Gucci", []string{}},
		{"Gucci before an apostrophe", "Gucci's", []string{"brand:gucci:Gucci"}},
		{"Latin name between Chinese", "古驰GUCCI高仿", []string{"brand:gucci:古驰", "brand:gucci:GUCCI", "phrase:replica:高仿"}},
		{"1:1 before replica", "1:1 replica", []string{"phrase:replica:1:1", "phrase:replica:replica"}},
		{"1:1 not inside a time", "21:15", []string{}},
		{"1:1 with a fullwidth colon", "1：1复刻", []string{"phrase:replica:1：1"}},
		{"CJK substring", "古驰高仿包包", []string{"brand:gucci:古驰", "phrase:replica:高仿"}},
		{"traditional Chinese", "古馳", []string{"brand:gucci:古馳"}},
		{"Chinese term before a Latin letter", "高仿A货", []string{"phrase:replica:高仿", "phrase:grade:A货"}},
		{"Latin-started term after Chinese", "超A货", []string{"phrase:grade:A货"}},
		{"Latin-started term after a Latin letter", "BA货", []string{}},
		{"multi-space", "super  copy", []string{"phrase:replica:super  copy"}},
		{"tab and newline", "super\t\n copy", []string{"phrase:replica:super\t\n copy"}},
		{"ideographic space", "super\u3000copy", []string{"phrase:replica:super\u3000copy"}},
		{"no space", "supercopy", []string{}},
		{"name across spaces", "Louis   VUITTON", []string{"brand:louis-vuitton:Louis   VUITTON"}},
		{"longest of one id", "Yves Saint Laurent", []string{"brand:saint-laurent:Yves Saint Laurent"}},
		{"shorter name alone", "Saint Laurent", []string{"brand:saint-laurent:Saint Laurent"}},
		{"longest term of one id", "AAA quality", []string{"phrase:grade:AAA quality"}},
		{"AAA not inside AAAA", "AAAA", []string{}},
		{"same term twice", "AAA and AAA", []string{"phrase:grade:AAA", "phrase:grade:AAA"}},
		{"invalid UTF-8", "\xffGucci\xfe", []string{"brand:gucci:Gucci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Match(tt.text)
			require.Equal(t, tt.text, res.Text)
			require.Equal(t, tt.want, spanKeys(t, res))
			require.NotNil(t, res.Brands)
			require.NotNil(t, res.Phrases)
		})
	}
}

func TestMatchOffsets(t *testing.T) {
	m := testMatcher(t)
	text := "正品GUCCI古驰包 1：1 高仿 AAA"
	res := m.Match(text)
	require.Equal(t, Result{
		Text:    text,
		Brands:  []string{"gucci"},
		Phrases: []string{"grade", "replica"},
		Spans: []Span{
			{Start: 6, End: 11, Kind: "brand", ID: "gucci", Term: "Gucci", Text: "GUCCI"},
			{Start: 11, End: 17, Kind: "brand", ID: "gucci", Term: "古驰", Text: "古驰"},
			{Start: 21, End: 26, Kind: "phrase", ID: "replica", Term: "1:1", Text: "1：1"},
			{Start: 27, End: 33, Kind: "phrase", ID: "replica", Term: "高仿", Text: "高仿"},
			{Start: 34, End: 37, Kind: "phrase", ID: "grade", Term: "AAA", Text: "AAA"},
		},
	}, res)
}

func TestMatchJSONHasNoNulls(t *testing.T) {
	b, err := json.Marshal(testMatcher(t).Match("nothing here"))
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"nothing here","brands":[],"phrases":[],"spans":[]}`, string(b))

	b, err = json.Marshal(NewMatcher(nil).Match("Gucci"))
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"Gucci","brands":[],"phrases":[],"spans":[]}`, string(b))
}

func TestMatchSharedTermsOfDifferentKinds(t *testing.T) {
	m := NewMatcher(&Rules{
		Brands:  []Brand{{ID: "b", Names: []string{"Putian"}}},
		Phrases: []Phrase{{ID: "p", Terms: []string{"putian"}}},
	})
	require.Equal(t, []string{"brand:b:PUTIAN", "phrase:p:PUTIAN"}, spanKeys(t, m.Match("PUTIAN")))
}

func TestMatchConcurrent(t *testing.T) {
	m := NewMatcher(DefaultRules())
	texts := []string{"古驰GUCCI高仿包包", "LV 1:1 super copy", "Rolex 劳力士 AAA", "nothing", strings.Repeat("Dior 迪奥 原单 ", 50)}
	want := make([]Result, len(texts))
	for i, s := range texts {
		want[i] = m.Match(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				require.Equal(t, want[k], m.Match(texts[k]))
			}
		})
	}
	wg.Wait()
}

// TestFoldRuneSkipsCaselessRanges backs the shortcut in foldRune.
func TestFoldRuneSkipsCaselessRanges(t *testing.T) {
	for _, rg := range [][2]rune{{0x2E80, 0xA640}, {0xAC00, 0xD7A4}} {
		for r := rg[0]; r < rg[1]; r++ {
			require.Equal(t, r, unicode.SimpleFold(r), "%U", r)
		}
	}
}

func TestFoldRune(t *testing.T) {
	tests := []struct {
		in, want rune
	}{
		{'A', 'a'}, {'a', 'a'}, {'1', '1'},
		{'Ａ', 'a'}, {'ａ', 'a'}, {'：', ':'},
		{'\u212A', 'k'}, // Kelvin sign
		{'È', 'È'}, {'è', 'È'},
		{'Σ', 'Σ'}, {'σ', 'Σ'}, {'ς', 'Σ'},
		{'古', '古'},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%U", tt.in), func(t *testing.T) {
			require.Equal(t, tt.want, foldRune(tt.in))
		})
	}
}

func benchLine() string {
	var b strings.Builder
	for b.Len() < 1024 {
		b.WriteString("限时秒杀 今日特价 顺丰包邮 Brand new summer collection, silver tone hardware, free shipping ")
	}
	b.WriteString("古驰GUCCI 1:1 高仿 AAA quality")
	return b.String()
}

func BenchmarkMatch(b *testing.B) {
	m := NewMatcher(DefaultRules())
	line := benchLine()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if len(m.Match(line).Spans) == 0 {
			b.Fatal("no spans")
		}
	}
}
