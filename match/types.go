package match

import (
	"errors"
	"fmt"
	"time"
)

// Rules is a parsed and validated rules file (see README, "Rules file").
type Rules struct {
	Brands  []Brand  `yaml:"brands"`
	Phrases []Phrase `yaml:"phrases"`
	Rules   []Rule   `yaml:"rules"`
}

// Brand is a protected mark and the names it appears under.
type Brand struct {
	ID                 string   `yaml:"id"`
	Names              []string `yaml:"names"`
	AuthorizedChannels []string `yaml:"authorized_channels"`
}

// Phrase is a counterfeit indicator and the terms that express it.
type Phrase struct {
	ID    string   `yaml:"id"`
	Terms []string `yaml:"terms"`
	// Exclude lists longer texts in which the terms do not count
	// ("replica furniture" for "replica"). Optional.
	Exclude []string `yaml:"exclude"`
}

// Rule says which kinds of hit must co-occur, within Window of media time, for an alert.
type Rule struct {
	ID       string        `yaml:"id"`
	Severity Severity      `yaml:"severity"`
	Require  []Kind        `yaml:"require"` // KindBrand, KindPhrase
	Window   time.Duration `yaml:"-"`       // parsed from the YAML duration string; 0 = same frame
}

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
	return "", fmt.Errorf("%w %q: want low, medium or high", ErrSeverity, s)
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
	HowNormalised How = "normalised" // equal after normalisation (width, accents, script, look-alikes, spelling out)
	HowFuzzy      How = "fuzzy"      // within the term's edit budget; Span.Distance says how far
)

// rank orders the ways of finding a span, the most faithful (HowExact) first.
func (h How) rank() int {
	switch h {
	case HowExact:
		return 0
	case HowNormalised:
		return 1
	}
	return 2
}

// Span is one lexicon term found in a text; Start and End are byte offsets into Result.Text.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Kind  Kind   `json:"kind"` // KindBrand or KindPhrase
	ID    string `json:"id"`
	Term  string `json:"term"` // the lexicon name or term that matched
	Text  string `json:"text"` // the matched text as it stands in the input
	// How says what allowed the match: HowExact (the term but for case and
	// spacing), HowNormalised (equal after normalisation) or HowFuzzy.
	How How `json:"how"`
	// Distance is the number of edits of a fuzzy match; 0 otherwise.
	Distance int `json:"distance"`
}

// Result is what a Matcher finds in one text.
type Result struct {
	Text    string   `json:"text"`
	Brands  []string `json:"brands"`  // ids, sorted, unique; never nil
	Phrases []string `json:"phrases"` // ids, sorted, unique; never nil
	Spans   []Span   `json:"spans"`   // in order of Start; never nil
}

// Matcher finds brands and phrases in a text. It is safe for concurrent use.
type Matcher interface {
	Match(text string) Result
}

// Box is a rectangle in frame pixels.
type Box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Line is one text line read from a sampled frame.
type Line struct {
	Text       string
	Confidence float64 // 0..100
	Box        Box
}

// Evidence is a line that contributed to a hit.
type Evidence struct {
	AtMS       int64   `json:"at_ms"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
	Box        Box     `json:"box"`
}

// Hit says that a rule holds at a sampled frame.
type Hit struct {
	Rule     string
	Severity Severity
	Brands   []string   // ids seen within the rule's window, sorted
	Phrases  []string   // ids seen within the rule's window, sorted
	Evidence []Evidence // the lines within the window that matched, strongest first, at most 5
}
