package match

import "time"

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

// Span is one lexicon term found in a text; Start and End are byte offsets into Result.Text.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Kind  Kind   `json:"kind"` // KindBrand or KindPhrase
	ID    string `json:"id"`
	Term  string `json:"term"` // the lexicon name or term that matched
	Text  string `json:"text"` // the matched text as it stands in the input
	// How says what allowed the match: HowExact (the term but for case and
	// spacing), HowNormalised (equal after normalisation), HowLookalike
	// (equal once look-alike characters are read as letters) or HowFuzzy.
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
	Engine     string // the engine that read it; a weak brand read by another engine supports it
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
