package ocr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// reading is a line as Tesseract read it, word by word.
type reading struct {
	Line
	words []word
}

type word struct {
	text string
	conf float64
}

// worth scores a reading for choosing between readings of one line: its
// letters and digits, each weighed by its word's confidence, so that a
// reading that lost glyphs, or that made letters of a texture, scores less
// than a full, clean one. Words Tesseract doubts much count for nothing.
func (r reading) worth() float64 {
	var s float64
	for _, wd := range r.words {
		if wd.conf < minWordConfidence {
			continue
		}
		n := 0
		for _, c := range wd.text {
			if unicode.IsLetter(c) || unicode.IsDigit(c) {
				n++
			}
		}
		s += float64(n) * wd.conf / 100
	}
	return s
}

// beats tells whether r is a better reading of a line than o: it scores
// higher (worth), and is not garbage unless o is too. A handful of
// confident symbols ("-6 «", Tesseract's reading of a rendering that kept
// only fragments of the glyphs) must not displace a full reading that
// Tesseract doubts (it gives widely spaced letters, "G U C C I", 0–20).
func (r reading) beats(o reading) bool {
	return r.worth() > o.worth() && (!garbage(r.Text) || garbage(o.Text))
}

// doubtful reports whether r may be a misreading worth reading again from
// other renderings of the line: it is unsure, looks like garbage, or has a
// word Tesseract doubts (a clean caption reads at 90 or more, word by word).
func (r reading) doubtful() bool {
	if r.Confidence < sureConfidence || garbage(r.Text) {
		return true
	}
	for i, wd := range r.words {
		if wd.conf < sureWord && !strayEnd(r.words, i) {
			return true
		}
	}
	return false
}

// strayEnd reports whether words[i] is a single character at either end of
// a line of several words: what the edge of a caption's box or a border
// next to it reads as ("a GUCCI bag 1:1 replica" from "GUCCI bag 1:1
// replica" on a box), whose doubt says nothing of the words read.
func strayEnd(words []word, i int) bool {
	return len(words) > 2 && (i == 0 || i == len(words)-1) && utf8.RuneCountInString(words[i].text) == 1
}

// surer reports whether a, another model's reading of b's line, is to be
// preferred: it read something, with more confidence.
func surer(a, b Line) bool {
	return a.Text != "" && a.Confidence > b.Confidence
}

// sureWord is the confidence below which a word makes a reading doubtful.
const sureWord = 85

// minWordConfidence is the confidence below which a word counts for nothing
// in reading.worth: Tesseract gives words made of texture or of a glyph's
// fragments 0-40.
const minWordConfidence = 45

// minChineseConfidence is the confidence from which an unsure Chinese
// reading with several Han characters is worth reading again from other
// renderings: the Chinese model reads textures and bars as strings of rare
// characters with confidence 0-20.
const minChineseConfidence = 25

func hanCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// garbage reports whether a reading looks like what Latin models make of
// pictures or of Chinese: mostly symbols, or mostly one-letter words.
func garbage(s string) bool {
	var alnum, other, words, short int
	for _, f := range strings.Fields(s) {
		n := 0
		for _, r := range f {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			} else {
				other++
			}
		}
		alnum += n
		words++
		if n == 1 && len(f) == 1 && !unicode.IsDigit(rune(f[0])) && f != "a" && f != "A" && f != "I" {
			short++
		}
	}
	if alnum == 0 {
		return true
	}
	return float64(alnum) < minWordRatio*float64(alnum+other) || 2*short > words
}

// numeric reports whether s reads as a number: a clock, a countdown, a
// price or a viewer count ("00:00:12.000", "¥1,299", "12,480"), which
// live streams show beside their captions and change every second. Such a
// line names no brand, and its retries (Chinese, the other renderings)
// read digits again at several times the first read's cost (on a 14 px
// clock, 36 ms of Tesseract a frame against 11): its first reading is
// kept, and matched, even when doubtful. A line holding a word ("LV 1:1",
// "1:1 replica", "AAA 888") is not one: numeric needs minNumericDigits
// digits or more, and digitsPerLetter for each letter a misread left in it
// ("00:00:31 .G00").
func numeric(s string) bool {
	digits, letters := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsLetter(r):
			letters++
		}
	}
	return digits >= minNumericDigits && letters*digitsPerLetter <= digits
}

// minNumericDigits is the fewest digits of a numeric line ("1:1" and
// "100%" are counterfeit phrases or parts of one); digitsPerLetter how many
// digits it holds at least for each letter.
const (
	minNumericDigits = 4
	digitsPerLetter  = 4
)
