// Package runes holds the classes of runes that reading text (ocr) and
// matching it (match) both need; neither package imports the other.
package runes

import "unicode"

// HasLetterOrDigit reports whether s holds a letter or a digit of any script,
// rather than only punctuation, symbols and spaces.
func HasLetterOrDigit(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// LettersOrDigits counts the letters and digits of any script in s.
func LettersOrDigits(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}
