package match

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// spanKeys renders spans as "kind:id:text:how[:distance]" and checks that
// each span's Text is the input at its offsets.
func spanKeys(t *testing.T, res Result) []string {
	t.Helper()
	keys := []string{}
	for _, s := range res.Spans {
		require.Equal(t, res.Text[s.Start:s.End], s.Text)
		k := string(s.Kind) + ":" + s.ID + ":" + s.Text + ":" + string(s.How)
		if s.How == HowFuzzy {
			k += fmt.Sprintf(":%d", s.Distance)
		}
		keys = append(keys, k)
	}
	return keys
}

// TestMatchAdversarial holds the lines sellers and OCR produce, with the
// built-in rules: each must find exactly the spans listed.
func TestMatchAdversarial(t *testing.T) {
	m := NewMatcher(DefaultRules())
	tests := []struct {
		name string
		text string
		want []string
	}{
		// exact and case
		{"empty text", "", nil},
		{"nothing to find", "fresh strawberries 草莓", nil},
		{"exact case", "Gucci bag", []string{"brand:gucci:Gucci:exact"}},
		{"upper case is exact", "GUCCI BAG", []string{"brand:gucci:GUCCI:exact"}},
		{"mixed case", "gUcCi", []string{"brand:gucci:gUcCi:exact"}},
		{"phrase and brand", "GUCCI bag 1:1 replica", []string{"brand:gucci:GUCCI:exact", "phrase:replica:1:1:exact", "phrase:replica:replica:exact"}},
		{"runs of spaces", "super   copy", []string{"phrase:replica:super   copy:exact"}},
		{"tab and ideographic space", "super\t\u3000copy", []string{"phrase:replica:super\t\u3000copy:exact"}},
		{"glued words", "supercopy", []string{"phrase:replica:supercopy:normalised"}},
		{"glued words in capitals", "SUPERCOPY bags", []string{"phrase:replica:SUPERCOPY:normalised"}},
		{"hyphenated words", "mirror-quality", []string{"phrase:replica:mirror-quality:normalised"}},
		{"glued brand", "LOUISVUITTON", []string{"brand:louis-vuitton:LOUISVUITTON:normalised"}},
		{"glued inside a longer word is not", "supercopyright", nil},
		{"a hyphenated name is not spaced out", "off white dress", nil},
		{"a hyphenated name glued", "OffWhite", []string{"brand:off-white:OffWhite:normalised"}},
		{"Roman numeral is no look-alike", "Rocky IV replica", []string{"phrase:replica:replica:exact"}},
		{"Roman numerals in a list", "Chapter VI, part XL, IV", nil},
		{"LV stays LV", "LV AAA", []string{"brand:louis-vuitton:LV:exact", "phrase:high-grade-copy:AAA:exact"}},
		{"lower-case iv is a numeral too", "iv bag", nil},
		{"a digit for L is a look-alike", "1V bag", []string{"brand:louis-vuitton:1V:lookalike"}},
		// NFKC, width
		{"fullwidth Latin", "ＧＵＣＣＩ包", []string{"brand:gucci:ＧＵＣＣＩ:normalised"}},
		{"fullwidth colon", "1：1复刻", []string{"phrase:replica:1：1:normalised", "phrase:replica:复刻:exact"}},
		{"mathematical bold letters", "𝐆𝐔𝐂𝐂𝐈 bag", []string{"brand:gucci:𝐆𝐔𝐂𝐂𝐈:normalised"}},
		{"circled letters", "ⓇⓄⓁⒺⓍ", []string{"brand:rolex:ⓇⓄⓁⒺⓍ:normalised"}},
		{"ligature", "Tiﬀany", []string{"brand:tiffany:Tiﬀany:normalised"}},
		// accents
		{"accent listed", "HERMÈS scarf", []string{"brand:hermes:HERMÈS:exact"}},
		{"accent removed", "Hérmes", []string{"brand:hermes:Hérmes:normalised"}},
		{"combining accent", "Herme\u0300s", []string{"brand:hermes:Herme\u0300s:normalised"}},
		{"accent added", "Cèline", []string{"brand:celine:Cèline:normalised"}},
		// Traditional Chinese
		{"traditional name listed", "古馳 包", []string{"brand:gucci:古馳:exact"}},
		{"traditional phrase not listed", "原單 精仿", []string{"phrase:factory-original:原單:exact", "phrase:replica:精仿:exact"}},
		{"traditional name not listed", "香奈兒高仿", []string{"brand:chanel:香奈兒:exact", "phrase:replica:高仿:exact"}},
		{"traditional only by table", "愛馬仕 復刻", []string{"brand:hermes:愛馬仕:exact", "phrase:replica:復刻:exact"}},
		{"traditional unlisted form", "愛马仕", []string{"brand:hermes:愛马仕:normalised"}},
		// confusables and leet
		{"zeros for o", "L0UIS VUITT0N", []string{"brand:louis-vuitton:L0UIS VUITT0N:lookalike"}},
		{"one for l", "Chane1 AAA", []string{"brand:chanel:Chane1:lookalike", "phrase:high-grade-copy:AAA:exact"}},
		{"one for i", "Gucc1", []string{"brand:gucci:Gucc1:lookalike"}},
		{"capital I for l", "CHANEI", []string{"brand:chanel:CHANEI:lookalike"}},
		{"three and four", "B4LENCI4G4 r3plica", []string{"brand:balenciaga:B4LENCI4G4:lookalike", "phrase:replica:r3plica:lookalike"}},
		{"dollar for s", "$wARovski", []string{"brand:swarovski:$wARovski:lookalike"}},
		{"at for a", "Pr@da", []string{"brand:prada:Pr@da:lookalike"}},
		{"pipe for l", "Ro|ex", []string{"brand:rolex:Ro|ex:lookalike"}},
		{"seven for t", "7udor", []string{"brand:tudor:7udor:lookalike"}},
		{"five for s", "Dy5on", []string{"brand:dyson:Dy5on:lookalike"}},
		{"rn for m", "Herrnes", []string{"brand:hermes:Herrnes:lookalike"}},
		{"vv for w", "Off-VVhite", []string{"brand:off-white:Off-VVhite:lookalike"}},
		{"Cyrillic look-alike", "Gucсi", []string{"brand:gucci:Gucсi:lookalike"}},
		{"digits alone stay digits", "21:15 11 1 1", nil},
		{"SK-2 keeps its digit", "SK-2 essence", []string{"brand:sk-ii:SK-2:exact"}},
		{"sign ending a word is punctuation", "Gucci$ 99", []string{"brand:gucci:Gucci:exact"}},
		// separators between single letters
		{"spaced letters", "G U C C I 高仿", []string{"brand:gucci:G U C C I:normalised", "phrase:replica:高仿:exact"}},
		{"dotted letters", "G.U.C.C.I", []string{"brand:gucci:G.U.C.C.I:normalised"}},
		{"dashed letters", "G-U-C-C-I bag", []string{"brand:gucci:G-U-C-C-I:normalised"}},
		{"spaced initials", "L V wallet", []string{"brand:louis-vuitton:L V:normalised"}},
		{"article before spaced letters", "a G U C C I bag", []string{"brand:gucci:G U C C I:normalised"}},
		{"mixed separators: two pieces of a name", "G.U C.C.I", []string{"brand:gucci:G.U C.C.I:normalised"}},
		// names written in pieces
		{"name in two pieces", "Gu cci bag", []string{"brand:gucci:Gu cci:normalised"}},
		{"name split by a dash", "PRA-DA 1:1", []string{"brand:prada:PRA-DA:normalised", "phrase:replica:1:1:exact"}},
		{"name in three pieces", "Ba len ciaga", []string{"brand:balenciaga:Ba len ciaga:normalised"}},
		{"two words are not a name", "car tier list", nil},
		{"pieces must spell the name", "Gu cca bag", nil},
		{"emoji between letters", "G🔥U🔥C🔥C🔥I", []string{"brand:gucci:G🔥U🔥C🔥C🔥I:normalised"}},
		// spaces that separate nothing
		{"spaced Chinese", "劳 力 士 高 仿", []string{"brand:rolex:劳 力 士:normalised", "phrase:replica:高 仿:normalised"}},
		{"space between Latin and Chinese", "香奈儿 A 货", []string{"brand:chanel:香奈儿:exact", "phrase:high-grade-copy:A 货:normalised"}},
		{"ratio read with spaces", "Prada 1 : 1", []string{"brand:prada:Prada:exact", "phrase:replica:1 : 1:normalised"}},
		{"spaced colon in a time", "2 : 30 pm", nil},
		{"spelled-out word hides no short name", "S I L V E R", nil},
		// word boundaries
		{"LV not inside SILVER", "SILVER ring", nil},
		{"LV not before a letter", "LVMH", nil},
		{"LV before punctuation", "(lv).", []string{"brand:louis-vuitton:lv:exact"}},
		{"LV next to Chinese", "正品LV包包", []string{"brand:louis-vuitton:LV:exact"}},
		{"Gucci not inside Guccione", "Guccione", nil},
		{"Gucci not after a digit", "2Gucci", nil},
		{"Gucci before an apostrophe", "Gucci's", []string{"brand:gucci:Gucci:exact"}},
		{"Latin name between Chinese", "古驰GUCCI高仿", []string{"brand:gucci:古驰:exact", "brand:gucci:GUCCI:exact", "phrase:replica:高仿:exact"}},
		{"1:1 not inside a time", "21:15", nil},
		{"ratio glued to a name", "LV1:1", []string{"brand:louis-vuitton:LV:exact", "phrase:replica:1:1:exact"}},
		{"ratio glued to words", "GUCCI1:1bag", []string{"brand:gucci:GUCCI:exact", "phrase:replica:1:1:exact"}},
		{"ratio after a letter", "Triple S1:1", []string{"phrase:replica:1:1:exact"}},
		{"a digit before a name is no ratio", "2Gucci 1:12", nil},
		{"AAA not inside AAAAAA", "AAAAAA", nil},
		{"Chinese substring", "古驰高仿包包", []string{"brand:gucci:古驰:exact", "phrase:replica:高仿:exact"}},
		// fuzzy
		{"OCR drops a letter", "Louis Vuiton bag", []string{"brand:louis-vuitton:Louis Vuiton:fuzzy:1"}},
		{"two edits in a long name", "Balemciaqa", []string{"brand:balenciaga:Balemciaqa:fuzzy:2"}},
		{"doubled letter", "Balenciaaga", []string{"brand:balenciaga:Balenciaaga:fuzzy:1"}},
		{"transposed letters", "Rloex", []string{"brand:rolex:Rloex:fuzzy:1"}},
		{"missing letter in phrase", "replca", []string{"phrase:replica:replca:fuzzy:1"}},
		{"two words one error each", "Yves Saimt Lauremt", []string{"brand:saint-laurent:Yves Saimt Lauremt:fuzzy:2"}},
		{"Chinese name with a wrong character", "路易威鼞", []string{"brand:louis-vuitton:路易威鼞:fuzzy:1"}},
		{"short name is never fuzzy", "Dier Nika Prda", []string{"brand:prada:Prda:fuzzy:1"}},
		{"Nikon is not Nike", "Nikon camera", nil},
		{"Channel is not Chanel", "Channel 5 news", nil},
		{"Valentine is not Valentino", "Valentine sale", nil},
		{"Prado is not Prada", "Prado museum", nil},
		{"Tutor is not Tudor", "math tutor", nil},
		{"Carrier is not Cartier", "phone carrier", nil},
		{"a lexicon word is not a typo of another", "Celine Chloe", []string{"brand:celine:Celine:exact", "brand:chloe:Chloe:exact"}},
		{"three edits are too many", "Balxnxixga", nil},
		{"short Chinese name is never fuzzy", "古池 雷明", nil},
		{"Chinese fuzzy needs Chinese", "路易威A", nil},
		// excludes
		{"exclude", "replica furniture sale", nil},
		{"exclude with spacing and case", "REPLICA   Furniture", nil},
		{"exclude does not hide other terms", "replica furniture 1:1 replica", []string{"phrase:replica:1:1:exact", "phrase:replica:replica:exact"}},
		{"exclude is per phrase", "AAA batteries Gucci", []string{"brand:gucci:Gucci:exact"}},
		{"exclude of another phrase does not apply", "AAA replica chair", []string{"phrase:high-grade-copy:AAA:exact"}},
		// longest span per id
		{"longest of one id", "Yves Saint Laurent", []string{"brand:saint-laurent:Yves Saint Laurent:exact"}},
		{"longest term of one id", "mirror quality", []string{"phrase:replica:mirror quality:exact"}},
		{"same term twice", "AAA and AAA", []string{"phrase:high-grade-copy:AAA:exact", "phrase:high-grade-copy:AAA:exact"}},
		{"invalid UTF-8", "\xffGucci\xfe", []string{"brand:gucci:Gucci:exact"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Match(tt.text)
			require.Equal(t, tt.text, res.Text)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, spanKeys(t, res))
			require.NotNil(t, res.Brands)
			require.NotNil(t, res.Phrases)
		})
	}
	require.GreaterOrEqual(t, len(tests), 60)
}

func TestMatchOffsets(t *testing.T) {
	m := NewMatcher(DefaultRules())
	text := "正品GUCCI古驰包 1：1 高仿 AAA"
	res := m.Match(text)
	require.Equal(t, Result{
		Text:    text,
		Brands:  []string{"gucci"},
		Phrases: []string{"high-grade-copy", "replica"},
		Spans: []Span{
			{Start: 6, End: 11, Kind: "brand", ID: "gucci", Term: "Gucci", Text: "GUCCI", How: HowExact},
			{Start: 11, End: 17, Kind: "brand", ID: "gucci", Term: "古驰", Text: "古驰", How: HowExact},
			{Start: 21, End: 26, Kind: "phrase", ID: "replica", Term: "1:1", Text: "1：1", How: HowNormalised},
			{Start: 27, End: 33, Kind: "phrase", ID: "replica", Term: "高仿", Text: "高仿", How: HowExact},
			{Start: 34, End: 37, Kind: "phrase", ID: "high-grade-copy", Term: "AAA", Text: "AAA", How: HowExact},
		},
	}, res)
}

func TestMatchJSON(t *testing.T) {
	m := NewMatcher(DefaultRules())
	b, err := json.Marshal(m.Match("nothing here"))
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"nothing here","brands":[],"phrases":[],"spans":[]}`, string(b))

	b, err = json.Marshal(m.Match("Louis Vuiton"))
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"Louis Vuiton","brands":["louis-vuitton"],"phrases":[],"spans":[
		{"start":0,"end":12,"kind":"brand","id":"louis-vuitton","term":"Louis Vuitton","text":"Louis Vuiton","how":"fuzzy","distance":1}]}`, string(b))

	b, err = json.Marshal(NewMatcher(nil).Match("Gucci"))
	require.NoError(t, err)
	require.JSONEq(t, `{"text":"Gucci","brands":[],"phrases":[],"spans":[]}`, string(b))
}

func TestMatchSharedTermsOfDifferentKinds(t *testing.T) {
	m := NewMatcher(&Rules{
		Brands:  []Brand{{ID: "b", Names: []string{"Putian"}}},
		Phrases: []Phrase{{ID: "p", Terms: []string{"putian"}}},
	})
	require.Equal(t, []string{"brand:b:PUTIAN:exact", "phrase:p:PUTIAN:exact"}, spanKeys(t, m.Match("PUTIAN")))
}

func TestMatchIntoReusesResult(t *testing.T) {
	m := NewMatcher(DefaultRules()).(IntoMatcher)
	var res Result
	m.MatchInto("GUCCI 1:1 replica", &res)
	require.Equal(t, []string{"gucci"}, res.Brands)
	m.MatchInto("nothing", &res)
	require.Equal(t, Result{Text: "nothing", Brands: []string{}, Phrases: []string{}, Spans: []Span{}}, res)
	if !raceEnabled {
		allocs := testing.AllocsPerRun(100, func() { m.MatchInto("古驰GUCCI 1:1 高仿 Louis Vuiton G U C C I", &res) })
		require.Zero(t, allocs)
	}
}

func TestMatchConcurrent(t *testing.T) {
	m := NewMatcher(DefaultRules())
	texts := []string{"古驰GUCCI高仿包包", "LV 1:1 super copy", "Rolex 劳力士 AAA", "nothing", strings.Repeat("Dior 迪奥 原单 Balenciaaga ", 50)}
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

func TestNormalise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GUCCI", "guccl"},
		{"Ｇｕｃｃｉ　ＢＡＧ", "guccl bag"},
		{"Hermès", "hermes"},
		{"古馳", "古驰"},
		{"L0UIS  VUITT0N", "louls vultton"},
		{"1:1", "1:1"},
		{"G . U . C . C . I", "guccl"},
		{"Herrnes", "hermes"},
		{"σς", "σσ"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, string(normalizeTerm(tt.in)))
		})
	}
}

func TestT2STableIsIdempotent(t *testing.T) {
	for tr, s := range t2s {
		_, again := t2s[s]
		require.False(t, again, "%c→%c is itself mapped", tr, s)
	}
}

func TestOSA(t *testing.T) {
	tests := []struct {
		a, b string
		max  int
		want int
	}{
		{"gucci", "gucci", 1, 0},
		{"gucci", "guci", 1, 1},
		{"gucci", "gcuci", 1, 1},
		{"gucci", "prada", 2, 3},
		{"balenciaga", "balenclaqa", 2, 2},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, osa([]rune(tt.a), []rune(tt.b), tt.max), "%s %s", tt.a, tt.b)
	}
}
