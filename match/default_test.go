package match

import (
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

func TestDefaultRulesParse(t *testing.T) {
	require.NoError(t, defaultRulesErr)
	r, err := ParseRules(DefaultRulesYAML())
	require.NoError(t, err)
	require.Equal(t, r, DefaultRules())
	require.NoError(t, DefaultRules().Validate())
}

func TestDefaultRulesBrands(t *testing.T) {
	isLatin := func(s string) bool {
		for _, r := range s {
			if unicode.Is(unicode.Latin, r) {
				return true
			}
		}
		return false
	}
	isHan := func(s string) bool {
		for _, r := range s {
			if unicode.Is(unicode.Han, r) {
				return true
			}
		}
		return false
	}
	both := 0
	for _, b := range DefaultRules().Brands {
		latin, han := false, false
		for _, n := range b.Names {
			latin = latin || isLatin(n)
			han = han || isHan(n)
		}
		if latin && han {
			both++
		}
	}
	require.GreaterOrEqual(t, both, 30, "brands with a Latin and a Chinese name")
}

func TestDefaultRulesRules(t *testing.T) {
	rules := map[string]Rule{}
	for _, r := range DefaultRules().Rules {
		rules[r.ID] = r
	}
	require.Equal(t, Rule{ID: "counterfeit-offer", Severity: "high", Require: []Kind{"brand", "phrase"}, Window: 10e9}, rules["counterfeit-offer"])
	require.Equal(t, Rule{ID: "counterfeit-phrase", Severity: "low", Require: []Kind{"phrase"}}, rules["counterfeit-phrase"])
}

// TestDefaultRulesEveryNameMatches makes sure no default name is shadowed or
// broken by normalisation: each is found, as its own brand, in a sentence.
func TestDefaultRulesEveryNameMatches(t *testing.T) {
	r := DefaultRules()
	m := NewMatcher(r)
	for _, b := range r.Brands {
		for _, n := range b.Names {
			res := m.Match("今天 " + n + " 特价")
			require.Contains(t, res.Brands, b.ID, "name %q", n)
		}
	}
	for _, p := range r.Phrases {
		for _, term := range p.Terms {
			res := m.Match("今天 " + term + " 特价")
			require.Contains(t, res.Phrases, p.ID, "term %q", term)
		}
	}
}

// TestDefaultRulesCommonWords guards the choices made in default_rules.yaml
// against everyday text.
func TestDefaultRulesCommonWords(t *testing.T) {
	m := NewMatcher(DefaultRules())
	for _, text := range []string{
		"SILVER necklace, sterling silver",
		"fresh apple juice, supreme taste",
		"your coach will copy the link",
		"no fake, 100% authentic",
		"knock off 20% today",
		"仿真花 模仿秀",
		"Guccione family recipe",
		"plain off white t-shirt",
		"爱彼此 北面的房间",
	} {
		res := m.Match(text)
		require.Empty(t, res.Brands, text)
		require.Empty(t, res.Phrases, text)
	}
}

func TestDefaultRulesAreCopies(t *testing.T) {
	a := DefaultRules()
	a.Brands[0].Names[0] = "changed"
	a.Rules = nil
	b := DefaultRules()
	require.NotEqual(t, "changed", b.Brands[0].Names[0])
	require.NotEmpty(t, b.Rules)

	y := DefaultRulesYAML()
	y[0] = 'X'
	require.NotEqual(t, byte('X'), DefaultRulesYAML()[0])
}
