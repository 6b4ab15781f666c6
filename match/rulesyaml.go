package match

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Reading a rules file: the YAML node tree is walked by hand, not decoded
// into structs, so that every error names the line of the key it is about.

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns "yaml: line 3: did not find expected key" into a RulesError.
func yamlError(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1]) // digits by the pattern; an absurd line number reads as 0, no line
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
	if p.nodes > MaxNodes {
		return nil, p.fail(n, path, "too many YAML nodes (more than %d, aliases included)", MaxNodes)
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
		if isLong(n.Value) {
			return "a value of " + tooLong(n.Value)
		}
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
		if isLong(k.Value) {
			return p.fail(k, path, "a key of %s", tooLong(k.Value))
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
	v := strings.TrimSpace(n.Value)
	if isLong(v) {
		return "", p.fail(n, path, "%s", tooLong(v))
	}
	return v, nil
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

// items parses n, a list, appending to dst one T per item, which parse
// fills in from the item.
func items[T any](p *parser, dst *[]T, n *yaml.Node, path string, parse func(t *T, item *yaml.Node, path string) error) error {
	return p.sequence(n, path, func(item *yaml.Node, ip string) error {
		var t T
		err := parse(&t, item, ip)
		*dst = append(*dst, t)
		return err
	})
}

// field is a key of a mapping whose value is one string (stored through
// one) or a list of them (through many).
type field struct {
	key  string
	one  *string
	many *[]string
}

// stringFields parses the mapping n, whose keys are those of fields, into fields.
func (p *parser) stringFields(n *yaml.Node, path string, fields ...field) error {
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.key
	}
	return p.mapping(n, path, known, func(key string, v *yaml.Node, path string) (err error) {
		f := fields[slices.Index(known, key)]
		if f.one != nil {
			*f.one, err = p.scalar(v, path)
		} else {
			*f.many, err = p.scalars(v, path)
		}
		return err
	})
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
			return items(p, &r.Brands, v, path, func(b *Brand, item *yaml.Node, ip string) error {
				return p.stringFields(item, ip, field{key: "id", one: &b.ID}, field{key: "names", many: &b.Names},
					field{key: "authorized_channels", many: &b.AuthorizedChannels})
			})
		case "phrases":
			return items(p, &r.Phrases, v, path, func(ph *Phrase, item *yaml.Node, ip string) error {
				return p.stringFields(item, ip, field{key: "id", one: &ph.ID}, field{key: "terms", many: &ph.Terms},
					field{key: "exclude", many: &ph.Exclude})
			})
		case "rules":
			return items(p, &r.Rules, v, path, func(ru *Rule, item *yaml.Node, ip string) error {
				return p.mapping(item, ip, []string{"id", "severity", "require", "window"}, func(key string, v *yaml.Node, path string) (err error) {
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
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// decodeDocument decodes data as exactly one YAML document: none is "empty
// file", a second one is refused.
func decodeDocument(data []byte) (*yaml.Node, error) {
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
	return &doc, nil
}
