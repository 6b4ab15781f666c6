package match

import (
	"cmp"
	"slices"
	"sync"
)

// Kinds of lexicon entry, as used in Span.Kind and Rule.Require.
const (
	KindBrand  = "brand"
	KindPhrase = "phrase"
)

// NewMatcher compiles the brand names and phrase terms of r into a Matcher.
// r is expected to be valid (ParseRules and Validate make sure); names that
// normalise to nothing are skipped. A nil r gives a Matcher that finds nothing.
//
// The Matcher compares case-insensitively (simple Unicode case folding, and
// fullwidth forms equal ASCII), treats any run of whitespace as one space, and
// finds a term whose first or last character is a letter or digit of a
// space-separated script (Latin, Cyrillic, digits, …) only where the text
// does not continue the word there: "LV" is not found in "SILVER", "Gucci" not
// in "Guccione", but "GUCCI" is in "古驰GUCCI高仿". Terms in Chinese and other
// scripts written without spaces are found as plain substrings.
//
// All terms are searched in one pass over the text (Aho-Corasick), so the cost
// of Match grows with the length of the text and the number of hits, not with
// the size of the lexicon.
func NewMatcher(r *Rules) Matcher {
	lx := &lexicon{nodes: []acNode{{dict: -1}}}
	lx.pool.New = func() any { return new(normText) }
	if r == nil {
		return lx
	}
	type key struct{ kind, id, norm string }
	seen := make(map[key]bool)
	add := func(kind, id, term string) {
		norm := normalizeTerm(term)
		if len(norm) == 0 {
			return
		}
		k := key{kind, id, string(norm)}
		if seen[k] {
			return // "1:1" and "1：1" are one entry
		}
		seen[k] = true
		lx.insert(norm, entry{
			kind:       kind,
			id:         id,
			term:       term,
			n:          len(norm),
			boundStart: isWordRune(norm[0]),
			boundEnd:   isWordRune(norm[len(norm)-1]),
		})
	}
	for _, b := range r.Brands {
		for _, name := range b.Names {
			add(KindBrand, b.ID, name)
		}
	}
	for _, p := range r.Phrases {
		for _, term := range p.Terms {
			add(KindPhrase, p.ID, term)
		}
	}
	lx.link()
	return lx
}

// entry is one lexicon name or term.
type entry struct {
	kind, id, term string
	n              int  // length in normalised runes
	boundStart     bool // the text must not continue a word before the match
	boundEnd       bool // … nor after it
}

// acEdge is a trie edge.
type acEdge struct {
	r  rune
	to int32
}

// acNode is a state of the Aho-Corasick automaton; node 0 is the root.
type acNode struct {
	edges []acEdge // sorted by r
	fail  int32    // longest proper suffix that is also a trie path
	dict  int32    // nearest node on the fail chain with outputs; -1 if none
	out   []int32  // entries that end here
}

// lexicon is the compiled Matcher. It is immutable after NewMatcher.
type lexicon struct {
	entries   []entry
	nodes     []acNode
	rootASCII [128]int32 // root edges for ASCII runes; 0 means none
	pool      sync.Pool  // *normText scratch space
}

func (lx *lexicon) insert(norm []rune, e entry) {
	s := int32(0)
	for _, c := range norm {
		edges := lx.nodes[s].edges
		i, ok := slices.BinarySearchFunc(edges, c, func(e acEdge, c rune) int { return cmp.Compare(e.r, c) })
		if ok {
			s = edges[i].to
			continue
		}
		next := int32(len(lx.nodes))
		lx.nodes = append(lx.nodes, acNode{})
		lx.nodes[s].edges = slices.Insert(edges, i, acEdge{c, next})
		s = next
	}
	lx.nodes[s].out = append(lx.nodes[s].out, int32(len(lx.entries)))
	lx.entries = append(lx.entries, e)
}

// link computes the failure and dictionary links breadth first.
func (lx *lexicon) link() {
	queue := make([]int32, 0, len(lx.nodes))
	for _, e := range lx.nodes[0].edges {
		lx.nodes[e.to].fail = 0
		lx.nodes[e.to].dict = -1
		queue = append(queue, e.to)
		if e.r < 128 {
			lx.rootASCII[e.r] = e.to
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range lx.nodes[u].edges {
			f := lx.nodes[u].fail
			for {
				if next := lx.child(f, e.r); next > 0 {
					f = next
					break
				}
				if f == 0 {
					break
				}
				f = lx.nodes[f].fail
			}
			v := &lx.nodes[e.to]
			v.fail = f
			if len(lx.nodes[f].out) > 0 {
				v.dict = f
			} else {
				v.dict = lx.nodes[f].dict
			}
			queue = append(queue, e.to)
		}
	}
}

// child returns the trie child of s on c, or 0.
func (lx *lexicon) child(s int32, c rune) int32 {
	if s == 0 && c < 128 {
		return lx.rootASCII[c] // filled before any lookup, by link
	}
	edges := lx.nodes[s].edges
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m].r < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(edges) && edges[lo].r == c {
		return edges[lo].to
	}
	return 0
}

// step follows the automaton from s on c.
func (lx *lexicon) step(s int32, c rune) int32 {
	for {
		if next := lx.child(s, c); next > 0 {
			return next
		}
		if s == 0 {
			return 0
		}
		s = lx.nodes[s].fail
	}
}

// maxPooledRunes keeps one huge text from pinning its scratch space in the pool.
const maxPooledRunes = 1 << 16

// Match finds the brands and phrases in text.
func (lx *lexicon) Match(text string) Result {
	res := Result{Text: text, Brands: []string{}, Phrases: []string{}, Spans: []Span{}}
	if len(lx.entries) == 0 || text == "" {
		return res
	}
	nt := lx.pool.Get().(*normText)
	defer func() {
		if cap(nt.runes) <= maxPooledRunes {
			lx.pool.Put(nt)
		}
	}()
	nt.reset(text)
	runes := nt.runes
	state := int32(0)
	for i, c := range runes {
		state = lx.step(state, c)
		for s := state; s >= 0; s = lx.nodes[s].dict {
			for _, ei := range lx.nodes[s].out {
				e := &lx.entries[ei]
				start := i + 1 - e.n
				if e.boundStart && start > 0 && isWordRune(runes[start-1]) {
					continue
				}
				if e.boundEnd && i+1 < len(runes) && isWordRune(runes[i+1]) {
					continue
				}
				b, end := nt.starts[start], nt.ends[i]
				res.Spans = append(res.Spans, Span{
					Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.term, Text: text[b:end],
				})
			}
		}
	}
	if len(res.Spans) == 0 {
		return res
	}
	res.Spans = dropContained(res.Spans)
	for _, s := range res.Spans {
		if s.Kind == KindBrand {
			res.Brands = append(res.Brands, s.ID)
		} else {
			res.Phrases = append(res.Phrases, s.ID)
		}
	}
	slices.Sort(res.Brands)
	res.Brands = slices.Compact(res.Brands)
	slices.Sort(res.Phrases)
	res.Phrases = slices.Compact(res.Phrases)
	return res
}

// dropContained sorts spans by start (longest first) and drops a span that
// lies within another span of the same brand or phrase: "Yves Saint Laurent"
// is reported once, not also as "Saint Laurent", and "AAA quality" not also
// as "AAA". Overlapping spans of different ids are all kept.
func dropContained(spans []Span) []Span {
	slices.SortFunc(spans, func(a, b Span) int {
		return cmp.Or(
			cmp.Compare(a.Start, b.Start),
			cmp.Compare(b.End, a.End),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Term, b.Term),
		)
	})
	type reach struct {
		kind, id string
		end      int
	}
	var reaches []reach // furthest end so far per kind and id; few per text
	kept := spans[:0]
	for _, s := range spans {
		j := slices.IndexFunc(reaches, func(r reach) bool { return r.kind == s.Kind && r.id == s.ID })
		switch {
		case j < 0:
			reaches = append(reaches, reach{s.Kind, s.ID, s.End})
		case s.End <= reaches[j].end:
			continue // earlier start, later or equal end: s lies inside
		default:
			reaches[j].end = s.End
		}
		kept = append(kept, s)
	}
	return kept
}
