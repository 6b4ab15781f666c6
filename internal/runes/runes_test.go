package runes

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHasLetterOrDigit(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{name: "empty", s: "", want: false},
		{name: "symbols and spaces", s: " -—«»|_ ", want: false},
		{name: "latin letter", s: "-a-", want: true},
		{name: "digit", s: "  7", want: true},
		{name: "han", s: "《古》", want: true},
		{name: "full-width digit", s: "：１", want: true},
		{name: "combining mark alone", s: "\u0301", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, HasLetterOrDigit(tc.s))
		})
	}
}

func TestLettersOrDigits(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want int
	}{
		{name: "empty", s: "", want: 0},
		{name: "a lone letter among symbols", s: "“ a ®", want: 1},
		{name: "words", s: "Rolex GMT", want: 8},
		{name: "han and digits", s: "古驰 1:1", want: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, LettersOrDigits(tc.s))
		})
	}
}
