package match

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/streamwatch/streamwatch/internal/runes"
)

// MaxWindow is the longest window a rule may have; it bounds the history an
// Evaluator keeps.
const MaxWindow = 10 * time.Minute

// Bounds of a rules file, checked before it is compiled, so that
// a file can make neither parsing nor matching take much memory or time.
const (
	// MaxRulesSize is the largest rules file, in bytes (8 MiB).
	MaxRulesSize = 8 << 20
	// MaxValueRunes is the longest id, name, term, exclude or channel, and
	// the longest value of any key, in characters (runes).
	MaxValueRunes = 256
	// MaxLexiconRunes is the most characters (runes) the names, terms and
	// excludes of a file may hold together: the compiled lexicon takes
	// memory for each.
	MaxLexiconRunes = 1 << 20
	// MaxNodes bounds the YAML nodes walked, aliases included, so that a
	// small file of nested aliases cannot make parsing take long.
	MaxNodes = 1 << 18
	// maxIndicators bounds the characters that can start a YAML node
	// (, - : [ { ? *), counted before the YAML library builds its node tree:
	// a file within MaxNodes has rarely more than one per node, and a file
	// of 8 MiB of "x," would take a gigabyte to build.
	maxIndicators = 2 * MaxNodes
)

// severityList names the severities, lowest first, for the messages of
// RulesError.
func severityList() string {
	names := make([]string, 0, 3)
	for _, s := range Severities() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

var idPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// RulesError is what is wrong with a rules file, and where.
type RulesError struct {
	File string // the file, if the rules came from one
	Line int    // 1-based line in the YAML, 0 if unknown
	Msg  string // "rules[0].severity: \"urgent\" is not one of low, medium, high"
}

// Error returns "rules FILE: line N: MSG", leaving out what is unknown.
func (e *RulesError) Error() string {
	var b strings.Builder
	b.WriteString("rules")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		b.WriteString(": line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// tooLarge is the RulesError of a file over MaxRulesSize.
func tooLarge(size string) *RulesError {
	return &RulesError{Msg: fmt.Sprintf("%s bytes, larger than the maximum of %d (8 MiB)", size, MaxRulesSize)}
}

// ReadRulesFile reads the rules file at path, refusing one larger than
// MaxRulesSize before reading it (a file that grows is read only up to the
// bound).
func ReadRulesFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err) // the *PathError names the file
	}
	defer f.Close() //nolint:errcheck // read only: nothing to lose on close
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxRulesSize {
		e := tooLarge(strconv.FormatInt(fi.Size(), 10))
		e.File = path
		return nil, e
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRulesSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if len(data) > MaxRulesSize {
		e := tooLarge("more than " + strconv.Itoa(MaxRulesSize))
		e.File = path
		return nil, e
	}
	return data, nil
}

// LoadRules reads, parses and validates the rules file at path.
func LoadRules(path string) (*Rules, error) {
	data, err := ReadRulesFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRules(data)
	if err != nil {
		var re *RulesError
		if errors.As(err, &re) {
			withFile := *re
			withFile.File = path
			return nil, &withFile
		}
		return nil, fmt.Errorf("rules %s: %w", path, err)
	}
	return r, nil
}

// ParseRules parses and validates a rules file. Unknown keys, duplicate keys
// and more than one YAML document are errors. Every error is a *RulesError
// naming the key, the bad value and, where known, the line. data over the
// bounds above (MaxRulesSize, MaxValueRunes, MaxLexiconRunes, MaxNodes) is
// refused before anything is compiled, its size and its node-starting
// characters before the YAML is parsed.
func ParseRules(data []byte) (r *Rules, err error) {
	if len(data) > MaxRulesSize {
		return nil, tooLarge(strconv.Itoa(len(data)))
	}
	if n := countIndicators(data); n > maxIndicators {
		return nil, &RulesError{Msg: fmt.Sprintf("too many YAML nodes: %d of the characters , - : [ { ? * that start one, more than %d (at most %d nodes)", n, maxIndicators, MaxNodes)}
	}
	defer func() {
		// The YAML library has panicked on malformed input before; outside
		// input must not take the process down.
		if v := recover(); v != nil {
			r, err = nil, &RulesError{Msg: fmt.Sprintf("invalid YAML: %v", v)}
		}
	}()
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	p := &parser{lines: make(map[string]int)}
	r, err = p.document(doc)
	if err != nil {
		return nil, err
	}
	if err := r.validate(p.lineOf); err != nil {
		return nil, err
	}
	return r, nil
}

// countIndicators counts the bytes of data that can start a YAML node.
func countIndicators(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case ',', '-', ':', '[', '{', '?', '*':
			n++
		}
	}
	return n
}

// tooLong is the message for a value of more than MaxValueRunes.
func tooLong(s string) string {
	return fmt.Sprintf("%d characters, longer than the maximum of %d", utf8.RuneCountInString(s), MaxValueRunes)
}

// isLong reports whether s is longer than MaxValueRunes; a short s costs a
// length test.
func isLong(s string) bool {
	return len(s) > MaxValueRunes && utf8.RuneCountInString(s) > MaxValueRunes
}

// isBlank reports whether s is empty or only space.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// Validate checks rules built in code the way ParseRules checks a file.
func (r *Rules) Validate() error {
	return r.validate(func(string) int { return 0 })
}

func (r *Rules) validate(lineOf func(path string) int) error {
	v := &validator{lineOf: lineOf}
	if err := v.brands(r.Brands); err != nil {
		return err
	}
	if err := v.phrases(r.Phrases); err != nil {
		return err
	}
	return v.rules(r)
}

// validator checks a rules file's entries in order; it counts the lexicon's
// characters across brands and phrases against MaxLexiconRunes.
type validator struct {
	lineOf       func(path string) int
	lexiconRunes int
}

func (v *validator) fail(path, format string, args ...any) error {
	return &RulesError{Line: v.lineOf(path), Msg: path + ": " + fmt.Sprintf(format, args...)}
}

func (v *validator) checkID(path, id string, ids map[string]string, ip string) error {
	switch {
	case id == "":
		return v.fail(path, "missing")
	case isLong(id):
		return v.fail(path, "%s", tooLong(id))
	case !idPattern.MatchString(id):
		return v.fail(path, "%q must match [a-z0-9-]+", id)
	case ids[id] != "":
		return v.fail(path, "%q is already the id of %s", id, ids[id])
	}
	ids[id] = ip
	return nil
}

// addRunes counts the runes of t against MaxLexiconRunes.
func (v *validator) addRunes(tp, t string) error {
	if v.lexiconRunes += utf8.RuneCountInString(t); v.lexiconRunes > MaxLexiconRunes {
		return v.fail(tp, "the names, terms and excludes up to here hold more than the maximum of %d characters in all", MaxLexiconRunes)
	}
	return nil
}

// checkTerms refuses empty terms and a term that normalises like one of
// another entry, which would make the id it reports a matter of chance.
func (v *validator) checkTerms(path, noun, id string, terms []string, owner map[string]string) error {
	if len(terms) == 0 {
		return v.fail(path, "at least one %s is required", noun)
	}
	for i, t := range terms {
		tp := fmt.Sprintf("%s[%d]", path, i)
		if isLong(t) {
			return v.fail(tp, "%s", tooLong(t))
		}
		if err := v.addRunes(tp, t); err != nil {
			return err
		}
		if isBlank(t) {
			return v.fail(tp, "empty %s", noun)
		}
		if !runes.HasLetterOrDigit(t) {
			return v.fail(tp, "%q has no letter or digit", t)
		}
		norm := string(normalizeTerm(t))
		if o, ok := owner[norm]; ok && o != id {
			return v.fail(tp, "%q is already a %s of %s", t, noun, o)
		}
		owner[norm] = id
	}
	return nil
}

// checkEntry checks the id and the terms (under key) of the brand or
// phrase at path.
func (v *validator) checkEntry(path, id string, ids map[string]string, key, noun string, terms []string, owner map[string]string) error {
	if err := v.checkID(path+".id", id, ids, path); err != nil {
		return err
	}
	return v.checkTerms(path+"."+key, noun, id, terms, owner)
}

func (v *validator) brands(brands []Brand) error {
	ids := make(map[string]string)
	names := make(map[string]string)
	for i, b := range brands {
		bp := fmt.Sprintf("brands[%d]", i)
		if err := v.checkEntry(bp, b.ID, ids, "names", "name", b.Names, names); err != nil {
			return err
		}
		for j, n := range b.Names {
			if countLettersAndDigits(n) < 2 {
				return v.fail(fmt.Sprintf("%s.names[%d]", bp, j), "%q is shorter than two letters, and would match any lone letter", n)
			}
		}
		for j, c := range b.AuthorizedChannels {
			cp := fmt.Sprintf("%s.authorized_channels[%d]", bp, j)
			switch {
			case isLong(c):
				return v.fail(cp, "%s", tooLong(c))
			case isBlank(c):
				return v.fail(cp, "empty channel")
			}
		}
	}
	return nil
}

// countLettersAndDigits counts the letters and digits of s.
func countLettersAndDigits(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

func (v *validator) phrases(phrases []Phrase) error {
	ids := make(map[string]string)
	terms := make(map[string]string)
	for i, ph := range phrases {
		pp := fmt.Sprintf("phrases[%d]", i)
		if err := v.checkEntry(pp, ph.ID, ids, "terms", "term", ph.Terms, terms); err != nil {
			return err
		}
		for j, x := range ph.Exclude {
			xp := fmt.Sprintf("%s.exclude[%d]", pp, j)
			if isLong(x) {
				return v.fail(xp, "%s", tooLong(x))
			}
			if err := v.addRunes(xp, x); err != nil {
				return err
			}
			switch {
			case isBlank(x):
				return v.fail(xp, "empty exclude")
			case !runes.HasLetterOrDigit(x):
				return v.fail(xp, "%q has no letter or digit", x)
			}
		}
	}
	return nil
}

func (v *validator) rules(r *Rules) error {
	if len(r.Rules) == 0 {
		return v.fail("rules", "at least one rule is required")
	}
	ids := make(map[string]string)
	for i, ru := range r.Rules {
		rp := fmt.Sprintf("rules[%d]", i)
		if err := v.checkID(rp+".id", ru.ID, ids, rp); err != nil {
			return err
		}
		switch {
		case ru.Severity == "":
			return v.fail(rp+".severity", "missing (one of %s)", severityList())
		case ru.Severity.Rank() == 0:
			return v.fail(rp+".severity", "%q is not one of %s", ru.Severity, severityList())
		}
		if err := v.require(r, rp, ru.Require); err != nil {
			return err
		}
		switch {
		case ru.Window < 0:
			return v.fail(rp+".window", "%s is negative", ru.Window)
		case ru.Window > MaxWindow:
			return v.fail(rp+".window", "%s is longer than the maximum of %s", ru.Window, MaxWindow)
		}
	}
	return nil
}

// require checks a rule's require list against the kinds the file defines.
func (v *validator) require(r *Rules, rp string, require []Kind) error {
	if len(require) == 0 {
		return v.fail(rp+".require", "at least one of %s, %s is required", KindBrand, KindPhrase)
	}
	for j, k := range require {
		kp := fmt.Sprintf("%s.require[%d]", rp, j)
		switch {
		case !k.Valid():
			return v.fail(kp, "unknown kind %q (known: %s, %s)", k, KindBrand, KindPhrase)
		case slices.Index(require, k) < j:
			return v.fail(kp, "%q is listed twice", k)
		case k == KindBrand && len(r.Brands) == 0:
			return v.fail(kp, "requires a brand but no brands are defined")
		case k == KindPhrase && len(r.Phrases) == 0:
			return v.fail(kp, "requires a phrase but no phrases are defined")
		}
	}
	return nil
}

// Summary describes the rules in one line, for logs and the CLI:
// "3 brands (6 names), 2 phrases (9 terms), 2 rules".
func (r *Rules) Summary() string {
	names, terms, excludes := 0, 0, 0
	for _, b := range r.Brands {
		names += len(b.Names)
	}
	for _, p := range r.Phrases {
		terms += len(p.Terms)
		excludes += len(p.Exclude)
	}
	phrases := count(terms, "term")
	if excludes > 0 {
		phrases += ", " + count(excludes, "exclude")
	}
	return fmt.Sprintf("%s (%s), %s (%s), %s",
		count(len(r.Brands), "brand"), count(names, "name"),
		count(len(r.Phrases), "phrase"), phrases,
		count(len(r.Rules), "rule"))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// clone returns a deep copy, so that callers may change what they get.
func (r *Rules) clone() *Rules {
	c := &Rules{
		Brands:  make([]Brand, len(r.Brands)),
		Phrases: make([]Phrase, len(r.Phrases)),
		Rules:   make([]Rule, len(r.Rules)),
	}
	for i, b := range r.Brands {
		b.Names = slices.Clone(b.Names)
		b.AuthorizedChannels = slices.Clone(b.AuthorizedChannels)
		c.Brands[i] = b
	}
	for i, p := range r.Phrases {
		p.Terms = slices.Clone(p.Terms)
		p.Exclude = slices.Clone(p.Exclude)
		c.Phrases[i] = p
	}
	for i, ru := range r.Rules {
		ru.Require = slices.Clone(ru.Require)
		c.Rules[i] = ru
	}
	return c
}
