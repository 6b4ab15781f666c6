package match

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const validRules = `# comment
brands:
  - id: gucci
    names: ["Gucci", "古驰"]
    authorized_channels: ["gucci-official"]
  - id: louis-vuitton
    names: [Louis Vuitton, LV]
phrases:
  - id: replica
    terms: ["replica", "1:1", "super copy", "高仿"]
rules:
  - id: counterfeit-offer
    severity: high
    require: [brand, phrase]
    window: 10s
  - id: counterfeit-phrase
    severity: low
    require: [phrase]
`

func TestParseRulesValid(t *testing.T) {
	r, err := ParseRules([]byte(validRules))
	require.NoError(t, err)
	require.Equal(t, &Rules{
		Brands: []Brand{
			{ID: "gucci", Names: []string{"Gucci", "古驰"}, AuthorizedChannels: []string{"gucci-official"}},
			{ID: "louis-vuitton", Names: []string{"Louis Vuitton", "LV"}},
		},
		Phrases: []Phrase{{ID: "replica", Terms: []string{"replica", "1:1", "super copy", "高仿"}}},
		Rules: []Rule{
			{ID: "counterfeit-offer", Severity: "high", Require: []Kind{"brand", "phrase"}, Window: 10 * time.Second},
			{ID: "counterfeit-phrase", Severity: "low", Require: []Kind{"phrase"}},
		},
	}, r)
	require.Equal(t, "2 brands (4 names), 1 phrase (4 terms), 2 rules", r.Summary())
	require.NoError(t, r.Validate())
}

func TestParseRulesAccepts(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{
			name: "no brands when no rule requires one",
			yaml: "phrases:\n  - {id: p, terms: [x]}\nrules:\n  - {id: r, severity: low, require: [phrase]}\n",
		},
		{
			name: "no phrases when no rule requires one",
			yaml: "brands:\n  - {id: b, names: [xy]}\nrules:\n  - {id: r, severity: medium, require: [brand]}\n",
		},
		{
			name: "window at the maximum",
			yaml: "brands:\n  - {id: b, names: [xy]}\nrules:\n  - {id: r, severity: high, require: [brand], window: 10m}\n",
		},
		{
			name: "same term twice in one phrase, once fullwidth",
			yaml: "phrases:\n  - {id: p, terms: [\"1:1\", \"1：1\"]}\nrules:\n  - {id: r, severity: low, require: [phrase]}\n",
		},
		{
			name: "same word as a brand name and a phrase term",
			yaml: "brands:\n  - {id: b, names: [xy]}\nphrases:\n  - {id: p, terms: [xy]}\nrules:\n  - {id: r, severity: low, require: [phrase, brand]}\n",
		},
		{
			name: "anchors and aliases",
			yaml: "brands:\n  - {id: a, names: [aa], authorized_channels: &ch [shop]}\n  - {id: b, names: [bb], authorized_channels: *ch}\nrules:\n  - {id: r, severity: low, require: [brand]}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tt.yaml))
			require.NoError(t, err)
		})
	}
}

func TestParseRulesErrors(t *testing.T) {
	const rule = "rules:\n  - {id: r, severity: low, require: [phrase]}\n"
	const phrases = "phrases:\n  - {id: p, terms: [x]}\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty file", "", "rules: empty file"},
		{"only a comment", "# nothing\n", "rules: empty file"},
		{"null document", "---\n~\n", "rules: line 2: empty file"},
		{"not YAML", "brands: [\n", "rules: line 1: invalid YAML: did not find expected node content"},
		{"top level is a list", "- a\n", `rules: line 1: want a mapping with keys brands, phrases, rules, got a list`},
		{"unknown top-level key", "brand: []\n" + rule, `rules: line 1: unknown key "brand" (known: brands, phrases, rules)`},
		{"duplicate top-level key", phrases + rule + "rules: []\n", `rules: line 5: duplicate key "rules"`},
		{"two documents", phrases + rule + "---\n" + phrases, "rules: line 5: more than one YAML document"},
		{"no rules key", phrases, "rules: rules: at least one rule is required"},
		{"empty rules list", phrases + "rules: []\n", "rules: line 3: rules: at least one rule is required"},
		{
			"unknown brand key",
			"brands:\n  - id: b\n    name: [x]\n" + rule,
			`rules: line 3: brands[0]: unknown key "name" (known: id, names, authorized_channels)`,
		},
		{
			"unknown rule key",
			phrases + "rules:\n  - id: r\n    severity: low\n    require: [phrase]\n    windw: 1s\n",
			`rules: line 7: rules[0]: unknown key "windw" (known: id, severity, require, window)`,
		},
		{"names not a list", "brands:\n  - id: b\n    names: Gucci\n" + rule, `rules: line 3: brands[0].names: want a list, got "Gucci"`},
		{"brand id missing", "brands:\n  - names: [xy]\n" + phrases + rule, "rules: line 2: brands[0].id: missing"},
		{"brand id upper case", "brands:\n  - {id: Gucci, names: [xy]}\n" + phrases + rule, `rules: line 2: brands[0].id: "Gucci" must match [a-z0-9-]+`},
		{
			"duplicate brand id",
			"brands:\n  - {id: b, names: [xy]}\n  - {id: b, names: [y]}\n" + phrases + rule,
			`rules: line 3: brands[1].id: "b" is already the id of brands[0]`,
		},
		{"brand without names", "brands:\n  - {id: b}\n" + phrases + rule, "rules: line 2: brands[0].names: at least one name is required"},
		{"brand with an empty names list", "brands:\n  - {id: b, names: []}\n" + phrases + rule, "rules: line 2: brands[0].names: at least one name is required"},
		{"empty name", "brands:\n  - {id: b, names: [xy, \"  \"]}\n" + phrases + rule, "rules: line 2: brands[0].names[1]: empty name"},
		{"null name", "brands:\n  - id: b\n    names:\n      - x\n      - ~\n" + phrases + rule, "rules: line 5: brands[0].names[1]: empty name"},
		{"one-letter name", "brands:\n  - {id: b, names: [Gucci, X]}\n" + phrases + rule, `rules: line 2: brands[0].names[1]: "X" is shorter than two letters, and would match any lone letter`},
		{"one-character Chinese name", "brands:\n  - {id: b, names: [\"驴\"]}\n" + phrases + rule, `rules: line 2: brands[0].names[0]: "驴" is shorter than two letters, and would match any lone letter`},
		{"name without letters", "brands:\n  - {id: b, names: [\"&!\"]}\n" + phrases + rule, `rules: line 2: brands[0].names[0]: "&!" has no letter or digit`},
		{
			"name of two brands",
			"brands:\n  - {id: a, names: [LV]}\n  - {id: b, names: [xy, lv]}\n" + phrases + rule,
			`rules: line 3: brands[1].names[1]: "lv" is already a name of a`,
		},
		{"name is a mapping", "brands:\n  - {id: b, names: [{x: y}]}\n" + phrases + rule, "rules: line 2: brands[0].names[0]: want a single value, got a mapping"},
		{"empty channel", "brands:\n  - {id: b, names: [xy], authorized_channels: [\"\"]}\n" + phrases + rule, "rules: line 2: brands[0].authorized_channels[0]: empty channel"},
		{"phrase without terms", "phrases:\n  - id: p\n    terms: []\n" + rule, "rules: line 3: phrases[0].terms: at least one term is required"},
		{"empty term", "phrases:\n  - id: p\n    terms: [\"\"]\n" + rule, "rules: line 3: phrases[0].terms[0]: empty term"},
		{"bad phrase id", "phrases:\n  - {id: high_grade, terms: [x]}\n" + rule, `rules: line 2: phrases[0].id: "high_grade" must match [a-z0-9-]+`},
		{
			"term of two phrases",
			"phrases:\n  - {id: p, terms: [super copy]}\n  - {id: q, terms: [\"SUPER  COPY\"]}\n" + rule,
			`rules: line 3: phrases[1].terms[0]: "SUPER  COPY" is already a term of p`,
		},
		{"rule id missing", phrases + "rules:\n  - {severity: low, require: [phrase]}\n", "rules: line 4: rules[0].id: missing"},
		{
			"duplicate rule id",
			phrases + "rules:\n  - {id: r, severity: low, require: [phrase]}\n  - {id: r, severity: high, require: [phrase]}\n",
			`rules: line 5: rules[1].id: "r" is already the id of rules[0]`,
		},
		{"severity missing", phrases + "rules:\n  - id: r\n    require: [phrase]\n", "rules: line 4: rules[0].severity: missing (one of low, medium, high)"},
		{"bad severity", phrases + "rules:\n  - id: r\n    severity: urgent\n    require: [phrase]\n", `rules: line 5: rules[0].severity: "urgent" is not one of low, medium, high`},
		{"require missing", phrases + "rules:\n  - {id: r, severity: low}\n", "rules: line 4: rules[0].require: at least one of brand, phrase is required"},
		{"require empty", phrases + "rules:\n  - {id: r, severity: low, require: []}\n", "rules: line 4: rules[0].require: at least one of brand, phrase is required"},
		{"require unknown kind", phrases + "rules:\n  - id: r\n    severity: low\n    require:\n      - phrase\n      - logo\n", `rules: line 8: rules[0].require[1]: unknown kind "logo" (known: brand, phrase)`},
		{"require repeated", phrases + "rules:\n  - {id: r, severity: low, require: [phrase, phrase]}\n", `rules: line 4: rules[0].require[1]: "phrase" is listed twice`},
		{"require a kind not defined", phrases + "rules:\n  - {id: r, severity: low, require: [brand]}\n", "rules: line 4: rules[0].require[0]: requires a brand but no brands are defined"},
		{"require phrase without phrases", "brands:\n  - {id: b, names: [xy]}\n" + rule, "rules: line 4: rules[0].require[0]: requires a phrase but no phrases are defined"},
		{"bad window", phrases + "rules:\n  - {id: r, severity: low, require: [phrase], window: 10 seconds}\n", `rules: line 4: rules[0].window: "10 seconds" is not a duration like 10s or 1m30s`},
		{"window without unit", phrases + "rules:\n  - {id: r, severity: low, require: [phrase], window: 10}\n", `rules: line 4: rules[0].window: "10" is not a duration like 10s or 1m30s`},
		{"negative window", phrases + "rules:\n  - {id: r, severity: low, require: [phrase], window: -1s}\n", "rules: line 4: rules[0].window: -1s is negative"},
		{"window too long", phrases + "rules:\n  - {id: r, severity: low, require: [phrase], window: 11m}\n", "rules: line 4: rules[0].window: 11m0s is longer than the maximum of 10m0s"},
		{"window is a list", phrases + "rules:\n  - {id: r, severity: low, require: [phrase], window: [1s]}\n", "rules: line 4: rules[0].window: want a single value, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRules([]byte(tt.yaml))
			require.Nil(t, r)
			require.EqualError(t, err, tt.want)
			require.IsType(t, &RulesError{}, err)
		})
	}
}

func TestParseRulesNodeBudget(t *testing.T) {
	// 500 brands share one list of 1,000 names through an alias: a 15 KB
	// file that would make the walk visit half a million nodes.
	var b strings.Builder
	b.WriteString("brands:\n  - id: b0\n    names: &n [" + strings.Repeat("x, ", 999) + "x]\n")
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&b, "  - {id: b%d, names: *n}\n", i)
	}
	b.WriteString("rules:\n  - {id: r, severity: low, require: [brand]}\n")
	_, err := ParseRules([]byte(b.String()))
	require.ErrorContains(t, err, "too many YAML nodes")
}

func TestValidateRulesBuiltInCode(t *testing.T) {
	r := &Rules{
		Phrases: []Phrase{{ID: "p", Terms: []string{"x"}}},
		Rules:   []Rule{{ID: "r", Severity: "low", Require: []Kind{"phrase"}, Window: -time.Second}},
	}
	require.EqualError(t, r.Validate(), "rules: rules[0].window: -1s is negative")
	r.Rules[0].Window = time.Second
	require.NoError(t, r.Validate())
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(validRules), 0o600))
	r, err := LoadRules(good)
	require.NoError(t, err)
	require.Len(t, r.Rules, 2)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(validRules, "severity: high", "severity: urgent", 1)), 0o600))
	_, err = LoadRules(bad)
	require.EqualError(t, err, "rules "+bad+`: line 13: rules[0].severity: "urgent" is not one of low, medium, high`)

	missing := filepath.Join(dir, "missing.yaml")
	_, err = LoadRules(missing)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, err.Error(), missing)
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name  string
		rules *Rules
		want  string
	}{
		{"empty", &Rules{}, "0 brands (0 names), 0 phrases (0 terms), 0 rules"},
		{
			"singular",
			&Rules{
				Brands:  []Brand{{ID: "b", Names: []string{"x"}}},
				Phrases: []Phrase{{ID: "p", Terms: []string{"y"}}},
				Rules:   []Rule{{ID: "r"}},
			},
			"1 brand (1 name), 1 phrase (1 term), 1 rule",
		},
		{
			"plural",
			&Rules{
				Brands:  []Brand{{ID: "a", Names: []string{"x", "y"}}, {ID: "b", Names: []string{"z"}}, {ID: "c", Names: []string{"u", "v", "w"}}},
				Phrases: []Phrase{{ID: "p", Terms: []string{"1", "2", "3", "4"}}, {ID: "q", Terms: []string{"5", "6", "7", "8", "9"}}},
				Rules:   []Rule{{ID: "r"}, {ID: "s"}},
			},
			"3 brands (6 names), 2 phrases (9 terms), 2 rules",
		},
		{
			"excludes",
			&Rules{
				Brands:  []Brand{{ID: "b", Names: []string{"x"}}},
				Phrases: []Phrase{{ID: "p", Terms: []string{"y"}, Exclude: []string{"y z"}}, {ID: "q", Terms: []string{"w"}, Exclude: []string{"w v", "w u"}}},
				Rules:   []Rule{{ID: "r"}},
			},
			"1 brand (1 name), 2 phrases (2 terms, 3 excludes), 1 rule",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.rules.Summary())
		})
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(validRules))
	f.Add(DefaultRulesYAML())
	f.Add([]byte("brands: &a [*a]\n"))
	f.Add([]byte("rules:\n  - {id: r, severity: low, require: [phrase], window: 9223372036854775807ns}\n"))
	f.Add([]byte("brands:\n  - {id: b, names: [" + strings.Repeat("x", MaxValueRunes+1) + "]}\nrules:\n  - {id: r, severity: low, require: [brand]}\n"))
	f.Add([]byte("brands: [" + strings.Repeat("x,", 100) + "]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules(data)
		if err != nil {
			require.Nil(t, r)
			require.IsType(t, &RulesError{}, err)
			require.NotContains(t, err.Error(), "\n")
			return
		}
		require.NoError(t, r.Validate())
		NewMatcher(r).Match("gucci 1:1 replica 古驰高仿")
	})
}

func TestParseRulesBounds(t *testing.T) {
	const rule = "rules:\n  - {id: r, severity: low, require: [brand]}\n"
	long := strings.Repeat("古", MaxValueRunes+1) // 771 bytes
	tests := []struct {
		name string
		yaml string
		want string // "" accepts
	}{
		{"name of the maximum length", "brands:\n  - {id: b, names: [" + strings.Repeat("古", MaxValueRunes) + "]}\n" + rule, ""},
		{"name too long", "brands:\n  - id: b\n    names: [xy, " + long + "]\n" + rule, "rules: line 3: brands[0].names[1]: 257 characters, longer than the maximum of 256"},
		{"id too long", "brands:\n  - id: " + strings.Repeat("b", 300) + "\n    names: [xy]\n" + rule, "rules: line 2: brands[0].id: 300 characters, longer than the maximum of 256"},
		{"channel too long", "brands:\n  - id: b\n    names: [xy]\n    authorized_channels: [" + long + "]\n" + rule, "rules: line 4: brands[0].authorized_channels[0]: 257 characters, longer than the maximum of 256"},
		{"exclude too long", "phrases:\n  - id: p\n    terms: [x]\n    exclude: [\"" + long + "\"]\n" + "rules:\n  - {id: r, severity: low, require: [phrase]}\n", "rules: line 4: phrases[0].exclude[0]: 257 characters, longer than the maximum of 256"},
		{"key too long", "brands:\n  - id: b\n    " + long + ": [x]\n" + rule, "rules: line 3: brands[0]: a key of 257 characters, longer than the maximum of 256"},
		{"long value where a mapping belongs", "brands:\n  - " + long + "\n" + rule, "rules: line 2: brands[0]: want a mapping with keys id, names, authorized_channels, got a value of 257 characters, longer than the maximum of 256"},
		{"file too large", "brands:\n  - {id: b, names: [x]}\n" + rule + "#" + strings.Repeat(" ", MaxRulesSize), "rules: 8388693 bytes, larger than the maximum of 8388608 (8 MiB)"},
		{"too many node indicators", "brands:\n  - {id: b, names: [" + strings.Repeat("x,", maxIndicators) + "x]}\n" + rule, "rules: too many YAML nodes: 524304 of the characters , - : [ { ? * that start one, more than 524288 (at most 262144 nodes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRules([]byte(tt.yaml))
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, r)
				return
			}
			require.Nil(t, r)
			require.EqualError(t, err, tt.want)
			require.IsType(t, &RulesError{}, err)
		})
	}
}

// manyNames is a rules file of n brands with a name of MaxValueRunes each.
func manyNames(n int) string {
	var b strings.Builder
	b.WriteString("brands:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: b%d, names: [%s%06d]}\n", i, strings.Repeat("x", MaxValueRunes-6), i)
	}
	b.WriteString("rules:\n  - {id: r, severity: low, require: [brand]}\n")
	return b.String()
}

func TestParseRulesLexiconBound(t *testing.T) {
	n := MaxLexiconRunes / MaxValueRunes
	_, err := ParseRules([]byte(manyNames(n)))
	require.NoError(t, err)
	_, err = ParseRules([]byte(manyNames(n + 1)))
	require.EqualError(t, err, "rules: line 4098: brands[4096].names[0]: the names, terms and excludes up to here hold more than the maximum of 1048576 characters in all")
}

func TestValidateRulesBounds(t *testing.T) {
	r := &Rules{
		Brands: []Brand{{ID: "b", Names: []string{strings.Repeat("x", MaxValueRunes+1)}}},
		Rules:  []Rule{{ID: "r", Severity: "low", Require: []Kind{KindBrand}}},
	}
	require.EqualError(t, r.Validate(), "rules: brands[0].names[0]: 257 characters, longer than the maximum of 256")
}

func TestLoadRulesTooLarge(t *testing.T) {
	// A sparse file of 1 GiB: refused from its size, before it is read.
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(1<<30))
	require.NoError(t, f.Close())
	start := time.Now()
	_, err = LoadRules(big)
	require.EqualError(t, err, "rules "+big+": 1073741824 bytes, larger than the maximum of 8388608 (8 MiB)")
	require.Less(t, time.Since(start), time.Second)
}
