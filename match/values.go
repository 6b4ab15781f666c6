package match

import (
	"errors"
	"fmt"

	"github.com/streamwatch/streamwatch/internal/echo"
)

// Severity is how urgent the alerts of a rule are. Its YAML, JSON and flag
// form is the word itself ("low", "medium", "high").
type Severity string

// Severities of a rule, lowest first.
const (
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Severities returns the severities a rule may have, lowest first.
func Severities() []Severity { return []Severity{SeverityLow, SeverityMedium, SeverityHigh} }

// ErrSeverity is returned by ParseSeverity for a word that names no severity.
var ErrSeverity = errors.New("match: unknown severity")

// ParseSeverity returns the severity named s ("low", "medium" or "high").
func ParseSeverity(s string) (Severity, error) {
	if v := Severity(s); v.Rank() > 0 {
		return v, nil
	}
	return "", fmt.Errorf("%w %s: want low, medium or high", ErrSeverity, echo.Quote(s))
}

// Rank orders severities: 1 for low, 2 for medium, 3 for high, and 0 for
// anything else, which ranks below every severity.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	}
	return 0
}

// Kind is the kind of a lexicon entry, as in Span.Kind and Rule.Require. Its
// YAML and JSON form is the word itself.
type Kind string

// Kinds of lexicon entry.
const (
	KindBrand  Kind = "brand"
	KindPhrase Kind = "phrase"

	kindExclude Kind = "exclude" // a phrase's exclude term; never in a Result
	kindSeed    Kind = "seed"    // half of a Chinese name, to find it with one wrong character
)

// Valid tells whether a rule may require k: KindBrand or KindPhrase.
func (k Kind) Valid() bool { return k == KindBrand || k == KindPhrase }

// How says what allowed a match, as in Span.How. Its JSON form is the word
// itself.
type How string

// Ways a span is found, most faithful first.
const (
	HowExact      How = "exact"      // the text is the lexicon term, but for case and spacing
	HowNormalised How = "normalised" // equal after normalisation but for look-alikes (width, accents, script, spelling out, glued or hyphenated words)
	HowLookalike  How = "lookalike"  // equal only once look-alike characters are read as letters ("L0UIS", "IV" for "LV", a Cyrillic "с")
	HowFuzzy      How = "fuzzy"      // within the term's edit budget; Span.Distance says how far
)

// Weak reports whether a span found this way on a line read with
// confidence (0..100) is weak evidence: fuzzy or look-alike on a reading
// below WeakConfidence. A weak brand needs support before it counts (see
// Evaluator.Observe).
func (h How) Weak(confidence float64) bool {
	return (h == HowFuzzy || h == HowLookalike) && confidence < WeakConfidence
}

// WeakConfidence is the confidence below which a fuzzy or look-alike brand
// is weak evidence: junk that Tesseract reads in textures ("Rada" for
// Prada at 21) stays below it, captions read well come out at 80 and more.
const WeakConfidence = 60

// rank orders the ways of finding a span, the most faithful (HowExact) first.
func (h How) rank() int {
	switch h {
	case HowExact:
		return 0
	case HowNormalised:
		return 1
	case HowLookalike:
		return 2
	}
	return 3
}
