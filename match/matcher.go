package match

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// IntoMatcher is a Matcher that can reuse the storage of a Result. The
// Matcher of NewMatcher is one: MatchInto allocates nothing once warm.
type IntoMatcher interface {
	Matcher
	// MatchInto is Match writing into dst, whose slices it reuses. dst's
	// spans refer to text and to the lexicon, never to earlier results.
	MatchInto(text string, dst *Result)
}

// ContextMatcher is an IntoMatcher whose matching of one text stops when a
// context is done. The Matcher of NewMatcher is one.
type ContextMatcher interface {
	IntoMatcher
	// MatchIntoContext is MatchInto that returns ctx.Err(), leaving dst
	// incomplete, once ctx is done. It looks at ctx every few thousand
	// characters and words, so that a text of megabytes stops within
	// milliseconds.
	MatchIntoContext(ctx context.Context, text string, dst *Result) error
}

// NewMatcher compiles the brand names, phrase terms and phrase excludes of r
// into a Matcher (an IntoMatcher and a ContextMatcher). r is expected to be valid (ParseRules and
// Validate make sure); names that normalise to nothing are skipped. A nil r
// gives a Matcher that finds nothing.
//
// Text and names are compared after normalisation (see normalize.go and the
// README): case, width, accents, Traditional/Simplified script, look-alike
// letters, digits for letters, spelled-out names and spacing do not matter.
// A term whose first or last character is a letter or digit of a
// space-separated script (Latin, Cyrillic, digits, …) is found only where
// the text does not continue the word there: "LV" is not found in "SILVER",
// "Gucci" not in "Guccione", but "GUCCI" is in "古驰GUCCI高仿". Terms in
// Chinese and other scripts written without spaces are found as substrings.
//
// Latin names of 5 letters and more also match with OCR errors and typos,
// within an edit budget that grows with their length, unless the text word
// is itself a lexicon word or a known real word ("Channel" is not "Chanel");
// Chinese names of 4 characters and more match with one wrong character.
//
// All terms are searched in one pass over the text (Aho-Corasick), and fuzzy
// candidates are looked up per word in a hash index, so the cost of Match
// grows with the length of the text, not with the size of the lexicon.
func NewMatcher(r *Rules) Matcher {
	return compile(r)
}

// entry is one lexicon name or term, after normalisation.
type entry struct {
	kind       Kind
	id         string
	terms      []string // the names or terms that normalise to norm
	norm       []rune
	boundStart bool // the text must not continue a word before the match
	boundEnd   bool // … nor after it
	seedOf     int32
	seedOff    int32
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

// lexicon is the compiled Matcher. It is immutable after compile.
type lexicon struct {
	entries   []entry
	nodes     []acNode
	rootASCII [128]int32 // root edges for ASCII runes; 0 means none
	rootCJK   []int32    // root edges for U+3400..U+9FFF, when the lexicon is large
	fz        fuzzyIndex
	real      map[uint64]bool
	pool      sync.Pool // *normText scratch space
}

func compile(r *Rules) *lexicon {
	lx := &lexicon{nodes: []acNode{{dict: -1}}, real: realWordKeys()}
	lx.pool.New = func() any { return new(normText) }
	if r == nil {
		lx.link()
		return lx
	}
	type key struct {
		kind     Kind
		id, norm string
	}
	index := make(map[key]int32)
	fuzzed := make(map[int32]bool)
	// fuzz makes entry ei found with errors too.
	fuzz := func(ei int32) {
		e := lx.entries[ei]
		fuzzed[ei] = true
		lx.fz.addTerm(ei, e.norm)
		if len(e.norm) >= 4 && !slices.ContainsFunc(e.norm, func(r rune) bool { return !isUnspaced(r) }) {
			// A Chinese name with one wrong character still holds one of its
			// halves exactly: find the halves, then compare the whole.
			h := len(e.norm) / 2
			lx.insert(entry{kind: kindSeed, id: e.id, norm: e.norm[:h], seedOf: ei, seedOff: 0})
			lx.insert(entry{kind: kindSeed, id: e.id, norm: e.norm[h:], seedOf: ei, seedOff: int32(h)})
		}
	}
	addNorm := func(kind Kind, id, term string, norm []rune, fuzzy bool) {
		if len(norm) == 0 {
			return
		}
		k := key{kind, id, string(norm)}
		ei, ok := index[k]
		if ok {
			lx.entries[ei].terms = append(lx.entries[ei].terms, term) // "Hermès" and "Hermes"
		} else {
			ei = lx.insert(entry{kind: kind, id: id, terms: []string{term}, norm: norm, seedOf: -1})
			index[k] = ei
		}
		if kind != kindExclude && fuzzy && !fuzzed[ei] {
			fuzz(ei)
		}
	}
	add := func(kind Kind, id, term string) {
		addNorm(kind, id, term, normalizeTerm(term), true)
		// Variants match exactly only: "lamer" one edit from "gamer".
		for _, v := range joinedVariants(term) {
			addNorm(kind, id, term, normalizeTerm(v), false)
		}
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
		for _, term := range p.Exclude {
			add(kindExclude, p.ID, term)
		}
	}
	lx.link()
	lx.fz.build()
	return lx
}

// joinedVariants returns the other spellings of a term of several Latin
// words that sellers and OCR give it: glued ("supercopy" for "super
// copy") and, for words apart, hyphenated ("mirror-quality"). A hyphenated
// term is not spaced out: "Off-White" is not "off white", the colour.
func joinedVariants(term string) []string {
	words := strings.FieldsFunc(term, func(r rune) bool { return r == '-' || unicode.IsSpace(r) })
	if len(words) < 2 {
		return nil
	}
	for _, w := range words {
		if strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) || isUnspaced(r) }) {
			return nil // "1:1 coaching", "Tiffany & Co", Chinese
		}
	}
	vs := []string{strings.Join(words, "")}
	if strings.ContainsFunc(term, unicode.IsSpace) {
		vs = append(vs, strings.Join(words, "-"))
	}
	return vs
}

func (lx *lexicon) insert(e entry) int32 {
	e.boundStart = isWordRune(e.norm[0])
	e.boundEnd = isWordRune(e.norm[len(e.norm)-1])
	s := int32(0)
	for _, c := range e.norm {
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
	ei := int32(len(lx.entries))
	lx.nodes[s].out = append(lx.nodes[s].out, ei)
	lx.entries = append(lx.entries, e)
	return ei
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
	if len(lx.nodes[0].edges) > 256 {
		// Large lexicons put thousands of ideographs at the root: index
		// them directly instead of searching (84 KB).
		lx.rootCJK = make([]int32, 0x9FFF-0x3400+1)
		for _, e := range lx.nodes[0].edges {
			if 0x3400 <= e.r && e.r <= 0x9FFF {
				lx.rootCJK[e.r-0x3400] = e.to
			}
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
	if s == 0 {
		if c < 128 {
			return lx.rootASCII[c] // filled before any lookup, by link
		}
		if lx.rootCJK != nil && 0x3400 <= c && c <= 0x9FFF {
			return lx.rootCJK[c-0x3400]
		}
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

// Match finds the brands and phrases in text.
func (lx *lexicon) Match(text string) Result {
	var res Result
	lx.MatchInto(text, &res)
	return res
}

// MatchInto implements IntoMatcher.
func (lx *lexicon) MatchInto(text string, dst *Result) {
	lx.matchInto(nil, text, dst)
}

// MatchIntoContext implements ContextMatcher.
func (lx *lexicon) MatchIntoContext(ctx context.Context, text string, dst *Result) error {
	if !lx.matchInto(ctx.Done(), text, dst) {
		return ctx.Err()
	}
	return nil
}

// checkEvery is how many runes (and words, a sixteenth of it) the search
// goes through between two looks at done: often enough to stop a text of
// megabytes within milliseconds, in a loop of its own so that the search
// of each rune pays nothing for it.
const checkEvery = 1 << 14

// isDone reports whether done, nil for never, is closed.
func isDone(done <-chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// matchInto is MatchInto, stopping when done is closed; it reports whether
// it finished.
func (lx *lexicon) matchInto(done <-chan struct{}, text string, dst *Result) bool {
	dst.Text = text
	dst.Brands = nonNil(dst.Brands[:0])
	dst.Phrases = nonNil(dst.Phrases[:0])
	if dst.Spans == nil {
		dst.Spans = []Span{}
	}
	dst.Spans = dst.Spans[:0]
	if len(lx.entries) == 0 || text == "" {
		return true
	}
	nt := lx.pool.Get().(*normText)
	defer func() {
		if cap(nt.runes) <= maxPooledRunes {
			lx.pool.Put(nt)
		}
	}()
	nt.reset(text)
	if !lx.exact(done, nt, text, dst) || !lx.fuzzy(done, nt, text, dst) {
		return false
	}
	lx.finish(nt, dst)
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// boundaryOK reports whether a match of e over runes [start, end) stands on
// word boundaries as e requires. Inside a spelled-out run ("a G U C C I") the
// letters count as separate words for terms of four runes and more.
//
// A ratio is a word of its own where it touches letters: OCR drops the
// space before and after it, and sellers write "LV1:1", so "LV1:1" holds
// LV and 1:1, "1:1bag" holds 1:1; "2Gucci" holds nothing.
func boundaryOK(nt *normText, e *entry, start, end int) bool {
	rs := nt.runes
	long := len(e.norm) >= 4
	if e.boundStart && start > 0 && isWordRune(rs[start-1]) && (!long || !nt.joined[start]) && !ratioEdge(rs, start-1, start) {
		return false
	}
	if e.boundEnd && end < len(rs) && isWordRune(rs[end]) && (!long || !nt.joined[end]) && !ratioEdge(rs, end-1, end) {
		return false
	}
	return true
}

// ratioEdge reports whether runes a and b = a+1 are a letter and the digit
// of a ratio next to it, in either order.
func ratioEdge(rs []rune, a, b int) bool {
	return isLetter(rs[a]) && inRatio(rs, b) || inRatio(rs, a) && isLetter(rs[b])
}

// exact runs the automaton over the normalised text; it reports false if
// done was closed before it finished.
func (lx *lexicon) exact(done <-chan struct{}, nt *normText, text string, dst *Result) bool {
	rs := nt.runes
	state := int32(0)
	for from := 0; from < len(rs); from += checkEvery {
		if isDone(done) {
			return false
		}
		for k, c := range rs[from:min(from+checkEvery, len(rs))] {
			state = lx.step(state, c)
			for s := state; s >= 0; s = lx.nodes[s].dict {
				for _, ei := range lx.nodes[s].out {
					lx.found(nt, text, &lx.entries[ei], from+k, dst)
				}
			}
		}
	}
	return true
}

// found adds the span of entry e, found ending at rune i, if it stands on
// the boundaries e needs (a seed: if its name is there).
func (lx *lexicon) found(nt *normText, text string, e *entry, i int, dst *Result) {
	start := i + 1 - len(e.norm)
	if e.kind == kindSeed {
		lx.seed(nt, text, e, start, dst)
		return
	}
	if !boundaryOK(nt, e, start, i+1) {
		return
	}
	b, end := nt.starts[start], nt.ends[i]
	sp := Span{Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.terms[0], Text: text[b:end]}
	if classify(&sp, e) {
		dst.Spans = append(dst.Spans, sp)
	}
}

// classify sets how sp, equal to e after normalisation, was found: exact,
// normalised or by look-alikes. It reports false for a brand that only a
// Roman numeral's look-alike letters make ("IV" is no "LV").
func classify(sp *Span, e *entry) bool {
	sp.How = HowLookalike
	for _, t := range e.terms {
		if equalExact(sp.Text, t) {
			sp.Term, sp.How = t, HowExact
			return true
		}
		if sp.How == HowLookalike && equalPlain(sp.Text, t) {
			sp.Term, sp.How = t, HowNormalised
		}
	}
	return sp.How != HowLookalike || e.kind != KindBrand || !isRomanNumeral(sp.Text)
}

// seed verifies a Chinese name around one of its halves, found at start.
func (lx *lexicon) seed(nt *normText, text string, e *entry, start int, dst *Result) {
	t := &lx.entries[e.seedOf]
	from := start - int(e.seedOff)
	if from < 0 || from+len(t.norm) > len(nt.runes) {
		return
	}
	diff := 0
	for k, r := range t.norm {
		c := nt.runes[from+k]
		if c != r {
			if !isUnspaced(c) {
				return
			}
			diff++
		}
	}
	if diff != 1 {
		return // 0: found exactly, by the entry itself
	}
	b, end := nt.starts[from], nt.ends[from+len(t.norm)-1]
	dst.Spans = append(dst.Spans, Span{Start: b, End: end, Kind: t.kind, ID: t.id, Term: t.terms[0], Text: text[b:end], How: HowFuzzy, Distance: 1})
}

// finish applies excludes, prefers exact findings to fuzzy ones, drops
// spans inside others of the same id, and fills in the ids. Each step is a
// sweep over sorted spans, not a comparison of every pair: a line holding
// thousands of hits costs n log n.
func (lx *lexicon) finish(nt *normText, dst *Result) {
	spans := dst.Spans
	if len(spans) == 0 {
		return
	}
	slices.SortFunc(spans, byStart)
	spans = dropOutshone(spans, nt)
	slices.SortFunc(spans, byID)
	spans = dropExcludedAndContained(spans)
	slices.SortFunc(spans, byStart)
	dst.Spans = spans
	for _, s := range dst.Spans {
		if s.Kind == KindBrand {
			dst.Brands = append(dst.Brands, s.ID)
		} else {
			dst.Phrases = append(dst.Phrases, s.ID)
		}
	}
	slices.Sort(dst.Brands)
	dst.Brands = slices.Compact(dst.Brands)
	slices.Sort(dst.Phrases)
	dst.Phrases = slices.Compact(dst.Phrases)
}

// byStart orders spans by start, longest first, and then by every other
// field, so that the order of a Result never depends on the search.
func byStart(a, b Span) int {
	return cmp.Or(
		cmp.Compare(a.Start, b.Start),
		cmp.Compare(b.End, a.End),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.How.rank(), b.How.rank()),
		cmp.Compare(a.Distance, b.Distance),
		cmp.Compare(a.Term, b.Term),
	)
}

// byID groups spans by id, each group in the order of byStart, an exclude
// before a phrase of the same start and end ("exclude" < "phrase").
func byID(a, b Span) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), byStart(a, b))
}

// outshines reports whether s, found exactly or normalised, explains the
// text of a fuzzy finding it overlaps better than that finding does.
func outshines(s *Span) bool { return s.How != HowFuzzy && s.Kind != kindExclude }

// dropOutshone drops the fuzzy spans that overlap a span that outshines
// them, of any id. spans are in the order of byStart. A fuzzy span overlaps
// such a span that starts at or before it and ends after its start, or one
// that starts after it and before its end: one sweep forward and one
// backward, over groups of equal start, find both.
func dropOutshone(spans []Span, nt *normText) []Span {
	if !slices.ContainsFunc(spans, func(s Span) bool { return s.How == HowFuzzy }) {
		return spans
	}
	if cap(nt.drop) < len(spans) {
		nt.drop = make([]bool, len(spans))
	}
	drop := nt.drop[:len(spans)]
	clear(drop)
	reach := -1 // the furthest end of the outshining spans so far
	for i := 0; i < len(spans); {
		j := i
		for ; j < len(spans) && spans[j].Start == spans[i].Start; j++ {
			if outshines(&spans[j]) {
				reach = max(reach, spans[j].End)
			}
		}
		for k := i; k < j; k++ {
			drop[k] = spans[k].How == HowFuzzy && reach > spans[k].Start
		}
		i = j
	}
	next := math.MaxInt // the least start of the outshining spans after this group
	for j := len(spans); j > 0; {
		i := j - 1
		for i > 0 && spans[i-1].Start == spans[j-1].Start {
			i--
		}
		for k := i; k < j; k++ {
			drop[k] = drop[k] || spans[k].How == HowFuzzy && next < spans[k].End
		}
		for k := i; k < j; k++ {
			if outshines(&spans[k]) {
				next = spans[k].Start
			}
		}
		j = i
	}
	kept := spans[:0]
	for i, s := range spans {
		if !drop[i] {
			kept = append(kept, s)
		}
	}
	clear(spans[len(kept):])
	return kept
}

// dropExcludedAndContained drops the excludes, a phrase inside an exclude of
// its id ("replica" inside "replica furniture") and a span that lies within
// another span of the same kind and id: "Yves Saint Laurent" is reported
// once, not also as "Saint Laurent", and "AAA quality" not also as "AAA".
// Overlapping spans of different ids are all kept. spans are in the order of
// byID, so that each id is one run in which a span is preceded by every
// span that could contain it.
func dropExcludedAndContained(spans []Span) []Span {
	kept := spans[:0]
	var id string
	var exclude, brand, phrase int // the furthest end so far within the id
	for i, s := range spans {
		if i == 0 || s.ID != id {
			id, exclude, brand, phrase = s.ID, -1, -1, -1
		}
		reach := &brand
		switch s.Kind {
		case kindExclude:
			exclude = max(exclude, s.End)
			continue
		case KindPhrase:
			if s.End <= exclude {
				continue
			}
			reach = &phrase
		}
		if s.End <= *reach {
			continue // an earlier start, a later or equal end: s lies inside
		}
		*reach = s.End
		kept = append(kept, s)
	}
	clear(spans[len(kept):])
	return kept
}
