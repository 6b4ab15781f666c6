package match

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// The symmetric-delete index that fuzzy search (fuzzy.go) looks text words
// up in, compiled once per lexicon, and the built-in real words.

// fuzzyTerm is a lexicon entry that may match fuzzily.
type fuzzyTerm struct {
	entry  int32
	words  []int32 // vocabulary ids
	budget int
}

// fuzzyIndex is the compiled symmetric-delete index.
type fuzzyIndex struct {
	vocab    []rune
	vocabOff []int32 // word i is vocab[vocabOff[i]:vocabOff[i+1]]
	keys     []uint64
	dir      []uint32
	bits     uint
	bloom    []uint64
	budgets  []int8 // edits allowed per vocabulary word
	terms    []fuzzyTerm
	first    [][]int32 // vocabulary id to the terms that start with it
	words    map[string]int32
}

const (
	hashBase = 0x100000001b3
	idBits   = 24
	idMask   = 1<<idBits - 1
)

// mixKey turns a polynomial hash of n runes into a well spread key.
func mixKey(h uint64, n int) uint64 {
	h ^= uint64(n) * 0x9E3779B97F4A7C15
	h ^= h >> 31
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 29
	h *= 0x94D049BB133111EB
	h ^= h >> 32
	return h
}

func polyHash(rs []rune) uint64 {
	var h uint64
	for _, r := range rs {
		h = h*hashBase + uint64(r) + 1
	}
	return h
}

// wordID returns the id of a vocabulary word, adding it if new.
func (fx *fuzzyIndex) wordID(w []rune) int32 {
	if fx.words == nil {
		fx.words = make(map[string]int32)
		fx.vocabOff = []int32{0}
	}
	if id, ok := fx.words[string(w)]; ok {
		return id
	}
	id := int32(len(fx.vocabOff) - 1)
	fx.words[string(w)] = id
	fx.vocab = append(fx.vocab, w...)
	fx.vocabOff = append(fx.vocabOff, int32(len(fx.vocab)))
	return id
}

func (fx *fuzzyIndex) word(id int32) []rune {
	return fx.vocab[fx.vocabOff[id]:fx.vocabOff[id+1]]
}

// addTerm registers entry ei with normalised runes norm, if it can match
// fuzzily: Latin words separated by a few signs, with an edit budget.
func (fx *fuzzyIndex) addTerm(ei int32, norm []rune) {
	var words []int32
	total := 0
	gap := 0
	for i := 0; i < len(norm); {
		r := norm[i]
		if isUnspaced(r) {
			return
		}
		if !isWordRune(r) {
			gap++
			if gap > maxSepRunes {
				return
			}
			i++
			continue
		}
		gap = 0
		j := i
		for j < len(norm) && isWordRune(norm[j]) {
			j++
		}
		if j-i > maxFuzzyRunes {
			return
		}
		words = append(words, fx.wordID(norm[i:j]))
		total += j - i
		i = j
	}
	if len(words) == 0 || budget(total) == 0 || len(fx.vocabOff)-1 > idMask {
		return
	}
	fx.terms = append(fx.terms, fuzzyTerm{entry: ei, words: words, budget: budget(total)})
}

// build indexes the vocabulary.
func (fx *fuzzyIndex) build() {
	n := len(fx.vocabOff) - 1
	if n <= 0 {
		return
	}
	fx.first = make([][]int32, n)
	fx.budgets = make([]int8, n)
	for ti, t := range fx.terms {
		fx.first[t.words[0]] = append(fx.first[t.words[0]], int32(ti))
	}
	var keys []uint64
	var buf []rune
	add := func(id int32, rs []rune) {
		keys = append(keys, mixKey(polyHash(rs), len(rs))>>idBits<<idBits|uint64(id))
	}
	for id := int32(0); int(id) < n; id++ {
		w := fx.word(id)
		add(id, w)
		k := wordBudget(w)
		fx.budgets[id] = int8(k)
		for a := 0; k >= 1 && a < len(w); a++ {
			buf = append(append(buf[:0], w[:a]...), w[a+1:]...)
			add(id, buf)
			for b := a + 1; k >= 2 && b < len(w); b++ {
				buf = append(append(append(buf[:0], w[:a]...), w[a+1:b]...), w[b+1:]...)
				add(id, buf)
			}
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	fx.keys = keys
	fx.bits = 8
	for 1<<fx.bits < len(keys) && fx.bits < 24 {
		fx.bits++
	}
	fx.dir = make([]uint32, 1<<fx.bits+1)
	for _, k := range keys {
		fx.dir[k>>(64-fx.bits)+1]++
	}
	for i := 1; i < len(fx.dir); i++ {
		fx.dir[i] += fx.dir[i-1]
	}
	fx.bloom = make([]uint64, 1<<(fx.bits+3-6)) // 8 bits per bucket
	for _, k := range keys {
		b := fx.bloomBit(k)
		fx.bloom[b>>6] |= 1 << (b & 63)
	}
	fx.words = nil
}

func (fx *fuzzyIndex) bloomBit(k uint64) uint64 {
	return (k >> idBits) & (uint64(len(fx.bloom))*64 - 1)
}

// lookup calls f for every vocabulary id filed under the key k.
func (fx *fuzzyIndex) lookup(k uint64, f func(id int32)) {
	if len(fx.bloom) == 0 {
		return
	}
	if b := fx.bloomBit(k); fx.bloom[b>>6]&(1<<(b&63)) == 0 {
		return
	}
	top := k >> idBits
	b := k >> (64 - fx.bits)
	for _, e := range fx.keys[fx.dir[b]:fx.dir[b+1]] {
		if e>>idBits == top {
			f(int32(e & idMask))
		}
	}
}

//go:embed realwords.txt
var realWordsText string

// realWordKeys holds the keys of the built-in real words (see realwords.txt):
// a text word that is one of them never matches a name fuzzily.
var realWordKeys = sync.OnceValue(func() map[uint64]bool {
	m := make(map[uint64]bool)
	for line := range strings.Lines(realWordsText) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		for w := range strings.FieldsSeq(line) {
			rs := normalizeTerm(w)
			m[mixKey(polyHash(rs), len(rs))] = true
		}
	}
	return m
})

// wordBudget is the number of edits allowed in the lexicon word w.
func wordBudget(w []rune) int {
	var seen []rune
	for _, r := range w {
		if !slices.Contains(seen, r) {
			seen = append(seen, r)
		}
	}
	if len(seen) < 3 {
		return 0 // "AAAAA": one A more or less is not a typo
	}
	return budget(len(w))
}
