package match

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text and lexicon are compared in one normalised form, built by the same
// code for both, and every normalised rune remembers the byte range of the
// input it stands for, so that hits map back to the original text.
//
// Stage 1, rune by rune:
//   - compatibility decomposition (NFKD, which NFKC starts with): fullwidth
//     and halfwidth forms, ligatures, superscripts, circled and styled letters
//     become plain ones ("ＧＵＣＣＩ", "𝐆𝐔𝐂𝐂𝐈" and "GUCCI" are alike);
//   - combining marks dropped, so accents are removed ("Hermès" = "Hermes")
//     whether the input is precomposed or not; a mark's bytes join the rune
//     before it;
//   - case folding (full fold orbit, so σ = ς = Σ);
//   - Cyrillic and Greek letters that look like Latin ones become Latin
//     ("Gucсi" with a Cyrillic с), and i becomes l: OCR confuses I, l and 1;
//   - Traditional Chinese becomes Simplified (see t2s.go);
//   - every run of whitespace becomes one space.
//
// Stage 2: separators between single letters are dropped ("G U C C I",
// "G.U.C.C.I", "G-U-C-C-I" read "gucci"), when the same separator repeats.
//
// Stage 3, within each word: digits and $ @ | that stand for letters are read
// as letters (0→o, 1→l, 3→e, 4→a, 5→s, 7→t, $→s, @→a, |→l) when the word
// also holds a Latin letter, so "L0UIS" is "louis" but "1:1" and "SK-2" stay;
// then "rn" reads "m" and "vv" reads "w", as OCR confuses them.

// maxPooledRunes keeps one huge text from pinning its scratch space in the pool.
const maxPooledRunes = 1 << 16

// normText is a normalised text with, for every normalised rune, the byte
// range of the input it stands for; it also holds the scratch space of one
// Match, so that matching allocates nothing once it is warm.
type normText struct {
	runes  []rune
	starts []int
	ends   []int
	joined []bool // a separator between single letters was dropped before this rune

	// scratch for Match
	toks   []token
	cands  []cand
	drop   []bool // spans that finish drops
	prefix []uint64
}

// reset normalises s into t, reusing t's storage.
func (t *normText) reset(s string) {
	t.runes, t.starts, t.ends, t.joined = t.runes[:0], t.starts[:0], t.ends[:0], t.joined[:0]
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		t.addRune(s, i, r, size)
		i += size
	}
	t.joinSingles()
	t.dropInnerSpaces()
	t.readLeet()
}

// dropInnerSpaces drops the spaces that separate nothing: between
// characters spelled out one by one when one of them is of a script written
// without spaces ("劳 力 士 高 仿" is "劳力士高仿", "A 货" is "A货"), and beside
// the colon of a ratio ("1 : 1", as OCR often reads "1:1"). Spaces between
// words of several characters stay: "限时秒杀 今日特价" is two words.
func (t *normText) dropInnerSpaces() {
	rs := t.runes
	n := len(rs)
	// drop decides on the space at i from the original runes around it:
	// p2 and a before it, b and c after it (' ' beyond either end).
	drop := func(i int, p2, a rune) bool {
		if rs[i] != ' ' || i == 0 || i+1 >= n {
			return false
		}
		b, c := rs[i+1], rune(' ')
		if i+2 < n {
			c = rs[i+2]
		}
		if a == ':' && '0' <= b && b <= '9' || b == ':' && '0' <= a && a <= '9' {
			return true
		}
		return p2 == ' ' && c == ' ' && (isUnspaced(a) || isUnspaced(b))
	}
	at := func(i int) rune {
		if i < 0 {
			return ' '
		}
		return rs[i]
	}
	first := -1
	for i := 1; i+1 < n; i++ {
		if rs[i] != ' ' || rs[i-1] < utf8.RuneSelf && rs[i+1] < utf8.RuneSelf && rs[i-1] != ':' && rs[i+1] != ':' {
			continue // between two ASCII characters only a ratio's colon drops a space
		}
		if drop(i, at(i-2), rs[i-1]) {
			first = i
			break
		}
	}
	if first < 0 {
		return
	}
	// Compact in place, remembering the original runes behind i, which the
	// copy overwrites.
	w := first
	p2, p1 := at(first-2), rs[first-1]
	for i := first; i < n; i++ {
		cur := rs[i]
		if cur != ' ' || !drop(i, p2, p1) {
			rs[w], t.starts[w], t.ends[w], t.joined[w] = cur, t.starts[i], t.ends[i], t.joined[i]
			w++
		}
		p2, p1 = p1, cur
	}
	t.runes, t.starts, t.ends, t.joined = rs[:w], t.starts[:w], t.ends[:w], t.joined[:w]
}

// emit appends one normalised rune for the input bytes [start, end).
func (t *normText) emit(r rune, start, end int) {
	if isSpace(r) {
		n := len(t.runes)
		if n > 0 && t.runes[n-1] == ' ' {
			t.ends[n-1] = end
			return
		}
		r = ' '
	}
	t.runes = append(t.runes, r)
	t.starts = append(t.starts, start)
	t.ends = append(t.ends, end)
	t.joined = append(t.joined, false)
}

// addRune runs stage 1 on the rune r of size bytes at s[i:].
func (t *normText) addRune(s string, i int, r rune, size int) {
	switch {
	case r < utf8.RuneSelf:
		t.emit(foldASCII(r), i, i+size)
		return
	case 0xFF01 <= r && r <= 0xFF5E: // fullwidth ASCII, frequent in Chinese text
		t.emit(foldASCII(r-0xFEE0), i, i+size)
		return
	case 0x3400 <= r && r <= 0x9FFF: // CJK ideographs: no case, no decomposition
		if sr, ok := t2s[r]; ok {
			r = sr
		}
		t.emit(r, i, i+size)
		return
	case 0xAC00 <= r && r <= 0xD7A3: // Hangul syllables stay whole
		t.emit(r, i, i+size)
		return
	case r == utf8.RuneError && size == 1:
		t.emit(r, i, i+size)
		return
	}
	if isMark(r) {
		t.dropMark(i + size)
		return
	}
	d := norm.NFKD.PropertiesString(s[i:]).Decomposition()
	if d == nil {
		t.emit(foldRune(r), i, i+size)
		return
	}
	for j := 0; j < len(d); {
		c, n := utf8.DecodeRune(d[j:])
		j += n
		if isMark(c) {
			if len(t.runes) > 0 && t.starts[len(t.starts)-1] == i {
				continue // this rune's own accent
			}
			t.dropMark(i + size)
			continue
		}
		if 0x3400 <= c && c <= 0x9FFF {
			if sr, ok := t2s[c]; ok {
				c = sr
			}
		}
		t.emit(foldRune(c), i, i+size)
	}
}

// dropMark gives the bytes of a dropped combining mark to the rune before it.
func (t *normText) dropMark(end int) {
	if n := len(t.ends); n > 0 && t.ends[n-1] < end {
		t.ends[n-1] = end
	}
}

func isMark(r rune) bool {
	return r >= 0x300 && unicode.In(r, unicode.Mn, unicode.Me)
}

func foldASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	if r == 'i' {
		return 'l'
	}
	return r
}

// confusables maps lower-case Cyrillic and Greek letters that look like Latin
// ones to those.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p',
	'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'l', 'ј': 'j', 'һ': 'h',
	'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ү': 'y', 'ӏ': 'l',
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'l', 'κ': 'k', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'χ': 'x', 'ı': 'l', 'ɡ': 'g', 'ℓ': 'l',
}

// foldRune case-folds r to the lower case of the lowest member of its fold
// orbit and reads look-alike letters as Latin.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return foldASCII(r)
	}
	lowest := r
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if c < lowest {
			lowest = c
		}
	}
	if lowest < utf8.RuneSelf {
		return foldASCII(lowest)
	}
	lowest = unicode.ToLower(lowest)
	if c, ok := confusables[lowest]; ok {
		return c
	}
	return lowest
}

// caseKey is the rune as compared for "exact": case folded, nothing else.
func caseKey(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	lowest := r
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if c < lowest {
			lowest = c
		}
	}
	return lowest
}

// equalExact reports whether a and b are equal but for case and the length
// of whitespace runs: what a moderator would call the same word.
func equalExact(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[j:])
		if isSpace(ra) && isSpace(rb) {
			for i < len(a) {
				if r, n := utf8.DecodeRuneInString(a[i:]); isSpace(r) {
					i += n
				} else {
					break
				}
			}
			for j < len(b) {
				if r, n := utf8.DecodeRuneInString(b[j:]); isSpace(r) {
					j += n
				} else {
					break
				}
			}
			continue
		}
		if ra != rb && caseKey(ra) != caseKey(rb) {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

// isSeparator reports whether r may stand between the letters of a spelled
// out name ("G.U.C.C.I").
func isSeparator(r rune) bool {
	switch r {
	case ' ', '.', '-', '_', '*', '·', '•', '/', '~', '+':
		return true
	}
	return r >= 0x2000 && isPictograph(r)
}

// isPictograph reports whether r is an emoji or another pictograph, which
// may separate spelled-out letters ("G🔥U🔥C🔥C🔥I"). Chinese, the bulk of
// non-ASCII text, needs no table lookup.
func isPictograph(r rune) bool {
	return (r < 0x3400 || r > 0x9FFF) && unicode.Is(unicode.So, r)
}

// isLetter reports whether r is a letter of a space-separated script.
func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return isWordRune(r) && unicode.IsLetter(r)
}

// single reports whether runes[k] is a letter standing alone.
func single(runes []rune, k int) bool {
	return isLetter(runes[k]) &&
		(k == 0 || !isWordRune(runes[k-1])) &&
		(k+1 == len(runes) || !isWordRune(runes[k+1]))
}

// maxSepRunes is the longest separator between single letters ("G . U").
const maxSepRunes = 3

// joinSingles drops the separators of a run of single letters, as long as
// it is the same separator each time ("L V" and "G.U.C.C.I", but in
// "a G.U.C.C.I" the space ends the run before "G").
func (t *normText) joinSingles() {
	rs := t.runes
	n := len(rs)
	// Most texts spell nothing out: find the first join before copying.
	first := -1
	for i := 0; i+2 < n; i++ {
		if isSeparator(rs[i+1]) && single(rs, i) {
			first = i
			break
		}
	}
	if first < 0 {
		return
	}
	w := first
	var prev [maxSepRunes]rune
	prevLen := 0
	joinNext := false
	for i := first; i < n; {
		// Read before writing: the copy below may overwrite rs[i-1].
		isSingle := joinNext || single(rs, i)
		if w != i {
			rs[w], t.starts[w], t.ends[w] = rs[i], t.starts[i], t.ends[i]
		}
		t.joined[w] = joinNext
		joinNext = false
		w++
		if !isSingle {
			prevLen = 0
			i++
			continue
		}
		j := i + 1
		for j < n && j-i-1 < maxSepRunes && isSeparator(rs[j]) {
			j++
		}
		sep := rs[i+1 : j]
		same := len(sep) > 0 && (prevLen == 0 || slices.Equal(prev[:prevLen], sep))
		if !same || j >= n || !single(rs, j) {
			prevLen = 0
			i++
			continue
		}
		copy(prev[:], sep)
		prevLen = len(sep)
		joinNext = true
		i = j
	}
	t.runes, t.starts, t.ends, t.joined = rs[:w], t.starts[:w], t.ends[:w], t.joined[:w]
}

// inRatio reports whether rs[i] is a digit of a ratio: a digit, a colon and
// a digit ("1:1"), the digit on either side of the colon.
func inRatio(rs []rune, i int) bool {
	digit := func(k int) bool { return k >= 0 && k < len(rs) && '0' <= rs[k] && rs[k] <= '9' }
	return digit(i) && (i+2 < len(rs) && rs[i+1] == ':' && digit(i+2) || i >= 2 && rs[i-1] == ':' && digit(i-2))
}

// leet maps the digits and signs that stand for letters inside a word.
func leet(r rune) (rune, bool) {
	switch r {
	case '0':
		return 'o', true
	case '1', '|':
		return 'l', true
	case '3':
		return 'e', true
	case '4', '@':
		return 'a', true
	case '5', '$':
		return 's', true
	case '7':
		return 't', true
	}
	return r, false
}

func isLeetSign(r rune) bool { return r == '$' || r == '@' || r == '|' }

// readLeet runs stage 3.
func (t *normText) readLeet() {
	rs := t.runes
	n := len(rs)
	for i := 0; i < n; {
		if !isWordRune(rs[i]) && !isLeetSign(rs[i]) {
			i++
			continue
		}
		j := i
		latin := false
		for j < n && (isWordRune(rs[j]) || isLeetSign(rs[j])) {
			if 'a' <= rs[j] && rs[j] <= 'z' {
				latin = true
			}
			j++
		}
		if latin {
			for k := i; k < j; k++ {
				if isLeetSign(rs[k]) && (k+1 == j || isLeetSign(rs[k+1])) {
					continue // a sign ending the word is punctuation ("Gucci$")
				}
				if c, ok := leet(rs[k]); ok && !inRatio(rs, k) { // "LV1:1" is LV and 1:1, not "lvl:1"
					rs[k] = c
				}
			}
		}
		i = j
	}
	// "rn" → "m", "vv" → "w"
	w := 0
	for i := 0; i < n; i++ {
		r := rs[i]
		if i+1 < n && !t.joined[i+1] && (r == 'r' && rs[i+1] == 'n' || r == 'v' && rs[i+1] == 'v') {
			m := 'm'
			if r == 'v' {
				m = 'w'
			}
			rs[w], t.starts[w], t.ends[w], t.joined[w] = m, t.starts[i], t.ends[i+1], t.joined[i]
			w++
			i++
			continue
		}
		if w != i {
			rs[w], t.starts[w], t.ends[w], t.joined[w] = r, t.starts[i], t.ends[i], t.joined[i]
		}
		w++
	}
	t.runes, t.starts, t.ends, t.joined = rs[:w], t.starts[:w], t.ends[:w], t.joined[:w]
}

// unspacedScripts are written without spaces between words, so terms in them
// are found as plain substrings and their letters do not count as word
// characters next to a Latin term ("古驰GUCCI高仿" holds the name "Gucci").
var unspacedScripts = []*unicode.RangeTable{
	unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Bopomofo,
	unicode.Hangul, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar,
}

// isWordRune reports whether r continues a word for the boundary rule: a
// letter, digit or combining mark of a script that separates words by spaces.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if inCJKBlock(r) {
		return false
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) && !inUnspacedScript(r)
}

// isUnspaced reports whether r is a letter of a script written without spaces.
func isUnspaced(r rune) bool {
	if inCJKBlock(r) {
		return true
	}
	return r >= 0x0E00 && unicode.IsLetter(r) && inUnspacedScript(r)
}

// inCJKBlock reports whether r lies in the CJK ideograph blocks U+3400-U+9FFF,
// which are tested before any table: they hold most unspaced text.
func inCJKBlock(r rune) bool {
	return 0x3400 <= r && r <= 0x9FFF
}

// inUnspacedScript reports whether r belongs to one of unspacedScripts.
func inUnspacedScript(r rune) bool {
	for _, t := range unspacedScripts {
		if unicode.Is(t, r) {
			return true
		}
	}
	return false
}

// isSpace reports whether r is whitespace; a run of it normalises to one space.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// normalizeTerm returns the normalised runes of a lexicon name or term,
// without leading or trailing space.
func normalizeTerm(s string) []rune {
	var t normText
	t.reset(s)
	r := t.runes
	for len(r) > 0 && r[0] == ' ' {
		r = r[1:]
	}
	for len(r) > 0 && r[len(r)-1] == ' ' {
		r = r[:len(r)-1]
	}
	return r
}

// equalPlain reports whether a and b hold the same letters and digits but
// for case, width, accents and Traditional or Simplified script, whatever
// stands between them: equal without reading look-alikes as letters.
func equalPlain(a, b string) bool {
	x, y := plainRunes{s: a}, plainRunes{s: b}
	for {
		ra, rb := x.next(), y.next()
		if ra != rb {
			return false
		}
		if ra < 0 {
			return true
		}
	}
}

// plainRunes yields the letters and digits of s, folded for equalPlain.
type plainRunes struct {
	s    string
	i    int
	pend []byte // the rest of the decomposition of the rune before i
}

// next returns the next letter or digit, or -1 at the end.
func (p *plainRunes) next() rune {
	for len(p.pend) > 0 || p.i < len(p.s) {
		var r rune
		if len(p.pend) > 0 {
			var n int
			r, n = utf8.DecodeRune(p.pend)
			p.pend = p.pend[n:]
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(p.s[p.i:])
			if d := norm.NFKD.PropertiesString(p.s[p.i:]).Decomposition(); d != nil {
				r, n = utf8.DecodeRune(d)
				p.pend = d[n:]
				_, n = utf8.DecodeRuneInString(p.s[p.i:])
			}
			p.i += n
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue // marks, spaces, separators
		}
		if sr, ok := t2s[r]; ok {
			r = sr
		}
		return caseKey(r)
	}
	return -1
}

// isRomanNumeral reports whether the letters of s are all letters of Roman
// numerals ("IV", "xii"), in any case or width.
func isRomanNumeral(s string) bool {
	p := plainRunes{s: s}
	n := 0
	for r := p.next(); r >= 0; r = p.next() {
		if !strings.ContainsRune("ivxlcdm", r) {
			return false
		}
		n++
	}
	return n > 0
}
