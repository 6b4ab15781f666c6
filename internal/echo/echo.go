// Package echo bounds the user input that error messages quote back: a
// stream id, a subject or a URL of ten thousand characters is shown by its
// first characters and its length, not whole.
package echo

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Keep is how many characters of a long input a message shows.
const Keep = 64

// Short returns s if it has at most Keep characters, else its first Keep
// characters, "…" and how many characters s has: "aaaa… (10000 characters)".
func Short(s string) string {
	head, n, cut := split(s, Keep)
	if !cut {
		return s
	}
	return head + "… (" + strconv.Itoa(n) + " characters)"
}

// Quote is strconv.Quote of s, bounded like Short: a long s gives its first
// Keep characters quoted, then "… (N characters)".
func Quote(s string) string {
	head, n, cut := split(s, Keep)
	if !cut {
		return strconv.Quote(s)
	}
	return strconv.Quote(head) + "… (" + strconv.Itoa(n) + " characters)"
}

// LongestWord is the longest run of non-space characters that Words leaves whole.
const LongestWord = 256

// Words bounds every run of non-space characters of msg longer than
// LongestWord like Short: the last guard of a one-line error, for input
// quoted by code that does not know the bound (the flag package, libav).
func Words(msg string) string {
	if len(msg) <= LongestWord {
		return msg
	}
	var b strings.Builder
	for len(msg) > 0 {
		i := strings.IndexAny(msg, " \t\n")
		if i < 0 {
			i = len(msg)
		}
		word := msg[:i]
		if _, n, cut := split(word, LongestWord); cut {
			head, _, _ := split(word, Keep)
			word = head + "… (" + strconv.Itoa(n) + " characters)"
		}
		b.WriteString(word)
		if i < len(msg) {
			b.WriteByte(msg[i])
			i++
		}
		msg = msg[i:]
	}
	return b.String()
}

// split returns the first keep characters of s, how many characters s has,
// and whether s has more than keep.
func split(s string, keep int) (head string, n int, cut bool) {
	if len(s) <= keep {
		return s, utf8.RuneCountInString(s), false
	}
	n = utf8.RuneCountInString(s)
	if n <= keep {
		return s, n, false
	}
	end := 0
	for i := 0; i < keep; i++ {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return s[:end], n, true
}
