package match

import (
	"unicode"
	"unicode/utf8"
)

// Text and lexicon are compared in a normalised form: one rune of the input
// becomes one rune of the normalised text (so offsets map back), except that a
// run of whitespace becomes a single space. A rune is normalised by
//   - width folding: fullwidth ASCII forms (U+FF01..U+FF5E), which Chinese OCR
//     output and Chinese typing produce all the time ("ＧＵＣＣＩ", "1：1"),
//     become their ASCII counterparts;
//   - simple Unicode case folding, to one canonical member of the rune's fold
//     orbit (lower case for ASCII letters), so "HERMÈS" equals "hermès" and the
//     Kelvin sign equals "k", as with strings.EqualFold.
//
// Accents are kept ("Hermes" and "Hermès" are different names; the lexicon
// lists both), and text is not brought to NFC: OCR engines emit precomposed
// characters.

// foldRune returns the canonical form of r for comparison.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	if 0xFF01 <= r && r <= 0xFF5E {
		return foldRune(r - 0xFEE0)
	}
	// CJK radicals through Yi and Lisu, and the Hangul syllables have no case:
	// skip the fold-orbit walk for the bulk of Chinese text.
	if (0x2E80 <= r && r < 0xA640) || (0xAC00 <= r && r <= 0xD7A3) {
		return r
	}
	lowest := r
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if c < lowest {
			lowest = c
		}
	}
	if lowest < utf8.RuneSelf && 'A' <= lowest && lowest <= 'Z' {
		return lowest + ('a' - 'A')
	}
	return lowest
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
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
		return false
	}
	for _, t := range unspacedScripts {
		if unicode.Is(t, r) {
			return false
		}
	}
	return true
}

// isSpace reports whether r is whitespace; a run of it normalises to one space.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// normText is a normalised text with, for every normalised rune, the byte
// range of the input it stands for.
type normText struct {
	runes  []rune
	starts []int
	ends   []int
}

// reset normalises s into t, reusing t's storage.
func (t *normText) reset(s string) {
	t.runes, t.starts, t.ends = t.runes[:0], t.starts[:0], t.ends[:0]
	inSpace := false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if isSpace(r) {
			if inSpace {
				t.ends[len(t.ends)-1] = i + size
			} else {
				t.runes = append(t.runes, ' ')
				t.starts = append(t.starts, i)
				t.ends = append(t.ends, i+size)
				inSpace = true
			}
		} else {
			t.runes = append(t.runes, foldRune(r))
			t.starts = append(t.starts, i)
			t.ends = append(t.ends, i+size)
			inSpace = false
		}
		i += size
	}
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

// hasWordRune reports whether s holds a letter or a digit of any script.
func hasWordRune(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
