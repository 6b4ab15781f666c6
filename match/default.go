package match

import _ "embed"

//go:embed default_rules.yaml
var defaultRulesYAML []byte

// defaultRules is parsed once; a test makes sure it parses, so that
// DefaultRules never hands out nil and nothing panics on import.
var defaultRules, defaultRulesErr = ParseRules(defaultRulesYAML)

// DefaultRules returns the built-in rules (see DefaultRulesYAML): brands often
// counterfeited, with their Latin and Chinese names, counterfeit-indicator
// phrases, and the rules counterfeit-offer (high: brand and phrase within
// 10s) and counterfeit-phrase (low: a phrase alone). Each call returns a new
// copy that the caller may change.
func DefaultRules() *Rules {
	if defaultRulesErr != nil {
		return &Rules{Brands: []Brand{}, Phrases: []Phrase{}, Rules: []Rule{}}
	}
	return defaultRules.clone()
}

// DefaultRulesYAML returns the commented YAML source of DefaultRules, a
// starting point for a rules file of one's own.
func DefaultRulesYAML() []byte {
	return append([]byte(nil), defaultRulesYAML...)
}
