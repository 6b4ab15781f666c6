package match

import (
	"cmp"
	"slices"
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

// NewMatcher compiles the brand names, phrase terms and phrase excludes of r
// into a Matcher (an IntoMatcher). r is expected to be valid (ParseRules and
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
	add := func(kind Kind, id, term string) {
		norm := normalizeTerm(term)
		if len(norm) == 0 {
			return
		}
		k := key{kind, id, string(norm)}
		if ei, ok := index[k]; ok {
			lx.entries[ei].terms = append(lx.entries[ei].terms, term) // "Hermès" and "Hermes"
			return
		}
		ei := lx.insert(entry{kind: kind, id: id, terms: []string{term}, norm: norm, seedOf: -1})
		index[k] = ei
		if kind == kindExclude {
			return
		}
		lx.fz.addTerm(ei, norm)
		if len(norm) >= 4 && !slices.ContainsFunc(norm, func(r rune) bool { return !isUnspaced(r) }) {
			// A Chinese name with one wrong character still holds one of its
			// halves exactly: find the halves, then compare the whole.
			h := len(norm) / 2
			lx.insert(entry{kind: kindSeed, id: id, norm: norm[:h], seedOf: ei, seedOff: 0})
			lx.insert(entry{kind: kindSeed, id: id, norm: norm[h:], seedOf: ei, seedOff: int32(h)})
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
	dst.Text = text
	dst.Brands = nonNil(dst.Brands[:0])
	dst.Phrases = nonNil(dst.Phrases[:0])
	if dst.Spans == nil {
		dst.Spans = []Span{}
	}
	dst.Spans = dst.Spans[:0]
	if len(lx.entries) == 0 || text == "" {
		return
	}
	nt := lx.pool.Get().(*normText)
	defer func() {
		if cap(nt.runes) <= maxPooledRunes {
			lx.pool.Put(nt)
		}
	}()
	nt.reset(text)
	lx.exact(nt, text, dst)
	lx.fuzzy(nt, text, dst)
	lx.finish(nt, dst)
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
	if e.boundStart && start > 0 && isWordRune(rs[start-1]) && !(long && nt.joined[start]) && !ratioEdge(rs, start-1, start) {
		return false
	}
	if e.boundEnd && end < len(rs) && isWordRune(rs[end]) && !(long && nt.joined[end]) && !ratioEdge(rs, end-1, end) {
		return false
	}
	return true
}

// ratioEdge reports whether runes a and b = a+1 are a letter and the digit
// of a ratio next to it, in either order.
func ratioEdge(rs []rune, a, b int) bool {
	return isLetter(rs[a]) && inRatio(rs, b) || inRatio(rs, a) && isLetter(rs[b])
}

// exact runs the automaton over the normalised text.
func (lx *lexicon) exact(nt *normText, text string, dst *Result) {
	rs := nt.runes
	state := int32(0)
	for i, c := range rs {
		state = lx.step(state, c)
		for s := state; s >= 0; s = lx.nodes[s].dict {
			for _, ei := range lx.nodes[s].out {
				e := &lx.entries[ei]
				start := i + 1 - len(e.norm)
				if e.kind == kindSeed {
					lx.seed(nt, text, e, start, dst)
					continue
				}
				if !boundaryOK(nt, e, start, i+1) {
					continue
				}
				b, end := nt.starts[start], nt.ends[i]
				sp := Span{Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.terms[0], Text: text[b:end], How: HowNormalised}
				for _, t := range e.terms {
					if equalExact(sp.Text, t) {
						sp.Term, sp.How = t, HowExact
						break
					}
				}
				dst.Spans = append(dst.Spans, sp)
			}
		}
	}
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

// fuzzy finds the Latin names and terms within their edit budget.
func (lx *lexicon) fuzzy(nt *normText, text string, dst *Result) {
	fx := &lx.fz
	if len(fx.terms) == 0 {
		return
	}
	rs := nt.runes
	nt.toks, nt.cands = nt.toks[:0], nt.cands[:0]
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			i++
			continue
		}
		j := i
		latin := false
		letters := true
		for j < len(rs) && isWordRune(rs[j]) {
			latin = latin || 'a' <= rs[j] && rs[j] <= 'z'
			letters = letters && !unicode.IsDigit(rs[j])
			j++
		}
		// Only words of letters may be misspelt names: "2Gucci" is not one.
		latin = latin && letters
		nt.toks = append(nt.toks, token{start: int32(i), end: int32(j), latin: latin})
		i = j
	}
	for ti := range nt.toks {
		lx.candidates(nt, ti)
	}
	for ti := range nt.toks {
		tk := nt.toks[ti]
		for _, c := range nt.cands[tk.cands[0]:tk.cands[1]] {
			for _, fi := range fx.first[c.word] {
				lx.assemble(nt, text, ti, &fx.terms[fi], c.dist, dst)
			}
		}
	}
	lx.split(nt, text, dst)
}

// maxSplitPieces is the most pieces a name written apart is found in.
const maxSplitPieces = 3

// shortPieceAhead reports whether one of the first maxSplitPieces tokens of
// toks is of one or two letters, as split needs.
func shortPieceAhead(toks []token) bool {
	for _, t := range toks[:min(len(toks), maxSplitPieces)] {
		if t.end-t.start <= 2 {
			return true
		}
	}
	return false
}

// split finds one-word names of five letters and more written in two or
// three pieces, one separator apart, one of them of one or two letters
// ("Gu cci", "Pra-da", "Ba.len.ciaga"): joined, the pieces must spell the
// name exactly (after normalisation). Longer pieces on both sides are words
// of their own ("car tier" stays apart).
func (lx *lexicon) split(nt *normText, text string, dst *Result) {
	fx := &lx.fz
	toks, rs := nt.toks, nt.runes
	for ti := 0; ti+1 < len(toks); ti++ {
		if !toks[ti].latin || !shortPieceAhead(toks[ti:]) {
			continue
		}
		var h uint64
		n, short := 0, false
		for k := ti; k < len(toks) && k < ti+maxSplitPieces; k++ {
			tk := toks[k]
			if !tk.latin || k > ti && (tk.start-toks[k-1].end != 1 || !isSeparator(rs[tk.start-1])) {
				break
			}
			w := rs[tk.start:tk.end]
			if n += len(w); n > maxFuzzyRunes {
				break
			}
			short = short || len(w) <= 2
			for _, r := range w {
				h = h*hashBase + uint64(r) + 1
			}
			if k == ti || !short || n < 5 {
				continue
			}
			fx.lookup(mixKey(h, n), func(id int32) {
				v := fx.word(id)
				if len(v) != n {
					return
				}
				i := 0
				for _, t := range toks[ti : k+1] {
					for _, r := range rs[t.start:t.end] {
						if v[i] != r {
							return
						}
						i++
					}
				}
				for _, fi := range fx.first[id] {
					if t := &fx.terms[fi]; len(t.words) == 1 {
						e := &lx.entries[t.entry]
						b, end := nt.starts[toks[ti].start], nt.ends[tk.end-1]
						dst.Spans = append(dst.Spans, Span{Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.terms[0], Text: text[b:end], How: HowNormalised})
					}
				}
			})
		}
	}
}

// candidates finds the vocabulary words within budget of token ti.
func (lx *lexicon) candidates(nt *normText, ti int) {
	fx := &lx.fz
	tk := &nt.toks[ti]
	w := nt.runes[tk.start:tk.end]
	from := int32(len(nt.cands))
	tk.cands = [2]int32{from, from}
	if len(w) > maxFuzzyRunes {
		return
	}
	// prefix hashes, for the hash of any deletion in O(1)
	p := append(nt.prefix[:0], 0)
	for _, r := range w {
		p = append(p, p[len(p)-1]*hashBase+uint64(r)+1)
	}
	nt.prefix = p
	L := len(w)
	sub := func(a, b int) uint64 { return p[b] - p[a]*hashPow[b-a] }
	add := func(id int32) {
		for _, c := range nt.cands[from:] {
			if c.word == id {
				return
			}
		}
		v := fx.word(id)
		k := int(fx.budgets[id])
		if d := osa(w, v, k); d <= k {
			nt.cands = append(nt.cands, cand{word: id, dist: int32(d)})
		}
	}
	tk.key = mixKey(p[L], L)
	fx.lookup(tk.key, add)
	if tk.latin && L >= 4 {
		for a := 0; a < L; a++ {
			fx.lookup(mixKey(sub(0, a)*hashPow[L-1-a]+sub(a+1, L), L-1), add)
		}
	}
	if tk.latin && L >= 8 {
		for a := 0; a < L; a++ {
			for b := a + 1; b < L; b++ {
				h := sub(0, a)*hashPow[L-2-a] + sub(a+1, b)*hashPow[L-1-b] + sub(b+1, L)
				fx.lookup(mixKey(h, L-2), add)
			}
		}
	}
	cs := nt.cands[from:]
	// A text word that is a lexicon word or a real word is that word, not a
	// misspelling of another.
	if len(cs) > 0 && (slices.ContainsFunc(cs, func(c cand) bool { return c.dist == 0 }) || lx.real[tk.key]) {
		n := 0
		for _, c := range cs {
			if c.dist == 0 {
				cs[n] = c
				n++
			}
		}
		nt.cands = nt.cands[:int(from)+n]
	}
	tk.cands[1] = int32(len(nt.cands))
}

// hashPow[k] is hashBase to the k.
var hashPow = func() (p [maxFuzzyRunes + 2]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * hashBase
	}
	return p
}()

// assemble tries the fuzzy term t on the tokens from ti, whose first word
// matched with d0 edits.
func (lx *lexicon) assemble(nt *normText, text string, ti int, t *fuzzyTerm, d0 int32, dst *Result) {
	total := int(d0)
	last := ti + len(t.words) - 1
	if last >= len(nt.toks) {
		return
	}
	for k := 1; k < len(t.words); k++ {
		prev, tk := nt.toks[ti+k-1], nt.toks[ti+k]
		if tk.start-prev.end > maxSepRunes {
			return
		}
		for _, r := range nt.runes[prev.end:tk.start] {
			if isUnspaced(r) {
				return
			}
		}
		best := int32(-1)
		for _, c := range nt.cands[tk.cands[0]:tk.cands[1]] {
			if c.word == t.words[k] && (best < 0 || c.dist < best) {
				best = c.dist
			}
		}
		if best < 0 {
			return
		}
		total += int(best)
	}
	if total == 0 || total > t.budget {
		return // 0: the automaton's business
	}
	e := &lx.entries[t.entry]
	b, end := nt.starts[nt.toks[ti].start], nt.ends[nt.toks[last].end-1]
	dst.Spans = append(dst.Spans, Span{Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.terms[0], Text: text[b:end], How: HowFuzzy, Distance: total})
}

// reach is how far the spans of one kind and id reach, for dropContained.
type reach struct {
	kind Kind
	id   string
	end  int
}

// finish applies excludes, prefers exact findings to fuzzy ones, drops
// spans inside others of the same id, and fills in the ids.
func (lx *lexicon) finish(nt *normText, dst *Result) {
	spans := dst.Spans
	if len(spans) == 0 {
		return
	}
	keep := func(s Span) bool {
		for _, o := range spans {
			switch {
			case s.Kind == KindPhrase && o.Kind == kindExclude && o.ID == s.ID && o.Start <= s.Start && s.End <= o.End:
				return false // "replica" inside "replica furniture"
			case s.How == HowFuzzy && o.How != HowFuzzy && o.Kind != kindExclude && o.Start < s.End && s.Start < o.End:
				return false // an exact finding explains this text better
			}
		}
		return s.Kind != kindExclude
	}
	n := 0
	for _, s := range spans {
		if keep(s) {
			spans[n] = s
			n++
		}
	}
	// keep's loop reads all of spans; only now is it safe to cut
	clear(spans[n:])
	spans = spans[:n]
	dst.Spans = dropContained(spans, nt)
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

// dropContained sorts spans by start (longest first) and drops a span that
// lies within another span of the same brand or phrase: "Yves Saint Laurent"
// is reported once, not also as "Saint Laurent", and "AAA quality" not also
// as "AAA". Overlapping spans of different ids are all kept.
func dropContained(spans []Span, nt *normText) []Span {
	slices.SortFunc(spans, func(a, b Span) int {
		return cmp.Or(
			cmp.Compare(a.Start, b.Start),
			cmp.Compare(b.End, a.End),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.How.rank(), b.How.rank()),
			cmp.Compare(a.Distance, b.Distance),
			cmp.Compare(a.Term, b.Term),
		)
	})
	reaches := nt.reaches[:0]
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
	clear(spans[len(kept):])
	nt.reaches = reaches[:0]
	return kept
}
