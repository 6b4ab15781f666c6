package match

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxWindow is the longest window a rule may have; it bounds the history an
// Evaluator keeps.
const MaxWindow = 10 * time.Minute

// maxNodes bounds the YAML nodes walked, aliases included, so that a small
// file of nested aliases cannot make parsing take long.
const maxNodes = 1 << 18

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

// LoadRules reads, parses and validates the rules file at path.
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err) // the *PathError names the file
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
// naming the key, the bad value and, where known, the line.
func ParseRules(data []byte) (r *Rules, err error) {
	defer func() {
		// The YAML library has panicked on malformed input before; outside
		// input must not take the process down.
		if v := recover(); v != nil {
			r, err = nil, &RulesError{Msg: fmt.Sprintf("invalid YAML: %v", v)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RulesError{Msg: "empty file"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &RulesError{Line: extra.Line, Msg: "more than one YAML document"}
	}
	p := &parser{lines: make(map[string]int)}
	r, err = p.document(&doc)
	if err != nil {
		return nil, err
	}
	if err := r.validate(p.lineOf); err != nil {
		return nil, err
	}
	return r, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns "yaml: line 3: did not find expected key" into a RulesError.
func yamlError(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &RulesError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &RulesError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// parser walks the YAML node tree, so that every error can name its line.
type parser struct {
	lines map[string]int // key path ("rules[0].severity") to line
	nodes int
}

func (p *parser) lineOf(path string) int {
	for {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return 0
		}
		path = path[:i]
	}
}

func (p *parser) fail(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return &RulesError{Line: n.Line, Msg: msg}
}

// resolve follows aliases, counts the node against the budget and records
// its line as that of path.
func (p *parser) resolve(n *yaml.Node, path string) (*yaml.Node, error) {
	n, err := p.resolveKey(n, path)
	if err != nil {
		return nil, err
	}
	p.lines[path] = n.Line
	return n, nil
}

// resolveKey is resolve for a mapping key: the line of path stays that of
// the mapping.
func (p *parser) resolveKey(n *yaml.Node, path string) (*yaml.Node, error) {
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > 100 {
			return nil, p.fail(n, path, "unresolvable alias")
		}
		n = n.Alias
	}
	p.nodes++
	if p.nodes > maxNodes {
		return nil, p.fail(n, path, "too many YAML nodes (more than %d, aliases included)", maxNodes)
	}
	return n, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapping calls f for each key of the mapping n, refusing unknown and
// repeated keys. A null value counts as an empty mapping.
func (p *parser) mapping(n *yaml.Node, path string, known []string, f func(key string, v *yaml.Node, path string) error) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.fail(n, path, "want a mapping with keys %s, got %s", strings.Join(known, ", "), kindName(n))
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := p.resolveKey(n.Content[i], path)
		if err != nil {
			return err
		}
		if k.Kind != yaml.ScalarNode {
			return p.fail(k, path, "keys must be plain strings, got %s", kindName(k))
		}
		if !slices.Contains(known, k.Value) {
			return p.fail(k, path, "unknown key %q (known: %s)", k.Value, strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return p.fail(k, path, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		v, err := p.resolve(n.Content[i+1], kp)
		if err != nil {
			return err
		}
		if err := f(k.Value, v, kp); err != nil {
			return err
		}
	}
	return nil
}

// sequence calls f for each item of the list n. A null value is an empty list.
func (p *parser) sequence(n *yaml.Node, path string, f func(item *yaml.Node, path string) error) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.fail(n, path, "want a list, got %s", kindName(n))
	}
	for i, c := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		item, err := p.resolve(c, ip)
		if err != nil {
			return err
		}
		if err := f(item, ip); err != nil {
			return err
		}
	}
	return nil
}

// scalar returns the text of a scalar as written ("1:1", "AAA", "yes"), with
// surrounding space trimmed; null is "".
func (p *parser) scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.fail(n, path, "want a single value, got %s", kindName(n))
	}
	if isNull(n) {
		return "", nil
	}
	return strings.TrimSpace(n.Value), nil
}

func (p *parser) scalars(n *yaml.Node, path string) ([]string, error) {
	out := []string{}
	err := p.sequence(n, path, func(item *yaml.Node, ip string) error {
		s, err := p.scalar(item, ip)
		out = append(out, s)
		return err
	})
	return out, err
}

// idLists parses an entry of brands or phrases: its id and the lists of
// strings under keys a and b (nil when absent).
func (p *parser) idLists(item *yaml.Node, path, a, b string) (id string, lists [2][]string, err error) {
	err = p.mapping(item, path, []string{"id", a, b}, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "id":
			id, err = p.scalar(v, path)
		case a:
			lists[0], err = p.scalars(v, path)
		case b:
			lists[1], err = p.scalars(v, path)
		}
		return err
	})
	return id, lists, err
}

func (p *parser) document(doc *yaml.Node) (*Rules, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &RulesError{Msg: "empty file"}
	}
	root, err := p.resolve(doc.Content[0], "")
	if err != nil {
		return nil, err
	}
	if isNull(root) {
		return nil, &RulesError{Line: root.Line, Msg: "empty file"}
	}
	r := &Rules{Brands: []Brand{}, Phrases: []Phrase{}, Rules: []Rule{}}
	err = p.mapping(root, "", []string{"brands", "phrases", "rules"}, func(key string, v *yaml.Node, path string) error {
		switch key {
		case "brands":
			return p.sequence(v, path, func(item *yaml.Node, ip string) error {
				id, l, err := p.idLists(item, ip, "names", "authorized_channels")
				r.Brands = append(r.Brands, Brand{ID: id, Names: l[0], AuthorizedChannels: l[1]})
				return err
			})
		case "phrases":
			return p.sequence(v, path, func(item *yaml.Node, ip string) error {
				id, l, err := p.idLists(item, ip, "terms", "exclude")
				r.Phrases = append(r.Phrases, Phrase{ID: id, Terms: l[0], Exclude: l[1]})
				return err
			})
		case "rules":
			return p.sequence(v, path, func(item *yaml.Node, ip string) error {
				var ru Rule
				err := p.mapping(item, ip, []string{"id", "severity", "require", "window"}, func(key string, v *yaml.Node, path string) (err error) {
					switch key {
					case "id":
						ru.ID, err = p.scalar(v, path)
					case "severity":
						var s string
						s, err = p.scalar(v, path)
						ru.Severity = Severity(s)
					case "require":
						var ks []string
						ks, err = p.scalars(v, path)
						for _, k := range ks {
							ru.Require = append(ru.Require, Kind(k))
						}
					case "window":
						var s string
						if s, err = p.scalar(v, path); err != nil || s == "" {
							return err
						}
						if ru.Window, err = time.ParseDuration(s); err != nil {
							return p.fail(v, path, "%q is not a duration like 10s or 1m30s", s)
						}
					}
					return err
				})
				r.Rules = append(r.Rules, ru)
				return err
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Validate checks rules built in code the way ParseRules checks a file.
func (r *Rules) Validate() error {
	return r.validate(func(string) int { return 0 })
}

// entryList is the brands or the phrases of a rules file, as validate checks
// them: each entry's id, its names (terms), and its second list (authorized
// channels, excludes) with what may be wrong with an item of it.
type entryList struct {
	key, termsKey, noun, extraKey string
	extraProblem                  func(string) string // "" when the item is fine
	entries                       []listEntry
}

type listEntry struct {
	id           string
	terms, extra []string
}

func entryLists(r *Rules) []entryList {
	brands := entryList{key: "brands", termsKey: "names", noun: "name", extraKey: "authorized_channels",
		extraProblem: func(c string) string {
			if strings.TrimSpace(c) == "" {
				return "empty channel"
			}
			return ""
		}}
	for _, b := range r.Brands {
		brands.entries = append(brands.entries, listEntry{b.ID, b.Names, b.AuthorizedChannels})
	}
	phrases := entryList{key: "phrases", termsKey: "terms", noun: "term", extraKey: "exclude",
		extraProblem: func(x string) string {
			switch {
			case strings.TrimSpace(x) == "":
				return "empty exclude"
			case !hasWordRune(x):
				return fmt.Sprintf("%q has no letter or digit", x)
			}
			return ""
		}}
	for _, ph := range r.Phrases {
		phrases.entries = append(phrases.entries, listEntry{ph.ID, ph.Terms, ph.Exclude})
	}
	return []entryList{brands, phrases}
}

func (r *Rules) validate(lineOf func(path string) int) error {
	fail := func(path, format string, args ...any) error {
		return &RulesError{Line: lineOf(path), Msg: path + ": " + fmt.Sprintf(format, args...)}
	}
	checkID := func(path, id string, ids map[string]string, ip string) error {
		switch {
		case id == "":
			return fail(path, "missing")
		case !idPattern.MatchString(id):
			return fail(path, "%q must match [a-z0-9-]+", id)
		case ids[id] != "":
			return fail(path, "%q is already the id of %s", id, ids[id])
		}
		ids[id] = ip
		return nil
	}
	// checkTerms refuses empty terms and a term that normalises like one of
	// another entry, which would make the id it reports a matter of chance.
	checkTerms := func(path, noun, id string, terms []string, owner map[string]string) error {
		if len(terms) == 0 {
			return fail(path, "at least one %s is required", noun)
		}
		for i, t := range terms {
			tp := fmt.Sprintf("%s[%d]", path, i)
			if strings.TrimSpace(t) == "" {
				return fail(tp, "empty %s", noun)
			}
			if !hasWordRune(t) {
				return fail(tp, "%q has no letter or digit", t)
			}
			norm := string(normalizeTerm(t))
			if o, ok := owner[norm]; ok && o != id {
				return fail(tp, "%q is already a %s of %s", t, noun, o)
			}
			owner[norm] = id
		}
		return nil
	}

	// Brands, then phrases: ids unique within each, every name (term) of one
	// entry only, and no blank in their second lists.
	for _, l := range entryLists(r) {
		ids, owner := map[string]string{}, map[string]string{}
		for i, e := range l.entries {
			ep := fmt.Sprintf("%s[%d]", l.key, i)
			if err := checkID(ep+".id", e.id, ids, ep); err != nil {
				return err
			}
			if err := checkTerms(ep+"."+l.termsKey, l.noun, e.id, e.terms, owner); err != nil {
				return err
			}
			for j, x := range e.extra {
				if msg := l.extraProblem(x); msg != "" {
					return fail(fmt.Sprintf("%s.%s[%d]", ep, l.extraKey, j), "%s", msg)
				}
			}
		}
	}
	if len(r.Rules) == 0 {
		return fail("rules", "at least one rule is required")
	}
	ids := make(map[string]string)
	for i, ru := range r.Rules {
		rp := fmt.Sprintf("rules[%d]", i)
		if err := checkID(rp+".id", ru.ID, ids, rp); err != nil {
			return err
		}
		switch {
		case ru.Severity == "":
			return fail(rp+".severity", "missing (one of %s)", severityList())
		case ru.Severity.Rank() == 0:
			return fail(rp+".severity", "%q is not one of %s", ru.Severity, severityList())
		}
		if len(ru.Require) == 0 {
			return fail(rp+".require", "at least one of %s, %s is required", KindBrand, KindPhrase)
		}
		for j, k := range ru.Require {
			kp := fmt.Sprintf("%s.require[%d]", rp, j)
			switch {
			case !k.Valid():
				return fail(kp, "unknown kind %q (known: %s, %s)", k, KindBrand, KindPhrase)
			case slices.Index(ru.Require, k) < j:
				return fail(kp, "%q is listed twice", k)
			case k == KindBrand && len(r.Brands) == 0:
				return fail(kp, "requires a brand but no brands are defined")
			case k == KindPhrase && len(r.Phrases) == 0:
				return fail(kp, "requires a phrase but no phrases are defined")
			}
		}
		switch {
		case ru.Window < 0:
			return fail(rp+".window", "%s is negative", ru.Window)
		case ru.Window > MaxWindow:
			return fail(rp+".window", "%s is longer than the maximum of %s", ru.Window, MaxWindow)
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
