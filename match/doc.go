// Package match compiles the brand and phrase lexicon of a rules file and finds
// brands, counterfeit-indicator phrases and rules that hold in OCR text.
//
// Files by concern:
//   - types.go: the rules (Rules, Brand, Phrase, Rule), what is matched and
//     found (Matcher, Result, Span, Line, Hit, Evidence) and the named values
//     (Severity, Kind, How).
//   - rules.go: loading and validating rules, their summary; rulesyaml.go:
//     the YAML walk that names the line of every error; default.go: the
//     built-in rules.
//   - normalize.go: the one normalised form of text and lexicon (with the
//     byte range each rune stands for); t2s.go: Traditional to Simplified.
//   - matcher.go: the compiled lexicon and exact matching (an Aho-Corasick
//     automaton over normalised text), excludes and the final spans.
//   - fuzzy.go: fuzzy search of Latin names and terms within an edit budget;
//     fuzzyindex.go: the symmetric-delete index it looks words up in.
//   - evaluator.go: rules across a window of media time, frame by frame.
//   - live.go: the rules in force, swapped on reload, and the file watcher.
package match
