package match

import (
	"slices"
	"unicode"
)

// Fuzzy matching of Latin-script names and terms (OCR errors and typos:
// "Louis Vuiton", "Balenciaaga") works word by word. Every word of every
// eligible lexicon entry is indexed together with all the strings that
// deleting up to its edit budget of letters gives (a symmetric-delete index);
// a word of the text is looked up with its own deletions, and each candidate
// is verified with the real edit distance. Entries of several words are then
// assembled from consecutive text words.
//
// The budget grows with length: none up to 4 letters, 1 edit up to 9, 2 from
// 10 on, for each word and for the entry as a whole.

// budget is the number of edits allowed in a word or term of n runes.
func budget(n int) int {
	switch {
	case n <= 4:
		return 0
	case n <= 9:
		return 1
	}
	return 2
}

// maxFuzzyRunes bounds the words looked up: longer ones are not words.
const maxFuzzyRunes = 24

// token is a word of the normalised text: runes [start, end).
type token struct {
	start, end int32
	key        uint64 // hash of the whole word
	cands      [2]int32
	latin      bool
}

// cand says that a text word is within budget of a lexicon word.
type cand struct {
	word int32
	dist int32
}

// fuzzy finds the Latin names and terms within their edit budget; it
// reports false if done was closed before it finished.
func (lx *lexicon) fuzzy(done <-chan struct{}, nt *normText, text string, dst *Result) bool {
	fx := &lx.fz
	if len(fx.terms) == 0 {
		return true
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
		if ti%(checkEvery/16) == 0 && isDone(done) {
			return false
		}
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
	return true
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
						sp := Span{Start: b, End: end, Kind: e.kind, ID: e.id, Term: e.terms[0], Text: text[b:end]}
						if classify(&sp, e) {
							dst.Spans = append(dst.Spans, sp)
						}
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

// osa is the optimal string alignment distance of a and b (Levenshtein with
// adjacent transpositions), or max+1 if it is more than max.
func osa(a, b []rune, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	if len(a) > maxFuzzyRunes || len(b) > maxFuzzyRunes {
		return max + 1
	}
	var rows [3][maxFuzzyRunes + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
