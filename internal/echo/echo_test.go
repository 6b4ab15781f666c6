package echo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShortAndQuote(t *testing.T) {
	long := strings.Repeat("a", 10000)
	tests := []struct {
		name         string
		in           string
		short, quote string
	}{
		{"empty", "", "", `""`},
		{"short", "shop-42", "shop-42", `"shop-42"`},
		{"exactly Keep", strings.Repeat("x", Keep), strings.Repeat("x", Keep), `"` + strings.Repeat("x", Keep) + `"`},
		{"long", long, strings.Repeat("a", Keep) + "… (10000 characters)", `"` + strings.Repeat("a", Keep) + `"… (10000 characters)`},
		{"long multibyte, cut on a rune", strings.Repeat("古", 100), strings.Repeat("古", Keep) + "… (100 characters)",
			`"` + strings.Repeat("古", Keep) + `"… (100 characters)`},
		{"short multibyte, under Keep runes though over Keep bytes", strings.Repeat("古", 30), strings.Repeat("古", 30),
			`"` + strings.Repeat("古", 30) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.short, Short(tc.in))
			require.Equal(t, tc.quote, Quote(tc.in))
		})
	}
}

func TestWords(t *testing.T) {
	long := strings.Repeat("b", 10000)
	// The word is the quoted value, its quote mark among its first Keep characters.
	require.Equal(t, "invalid value \""+strings.Repeat("b", Keep-1)+"… (10002 characters) for flag -gap",
		Words(`invalid value "`+long+`" for flag -gap`))
	path := "/" + strings.Repeat("p", LongestWord-2) // with its colon, LongestWord characters
	require.Equal(t, "open "+path+": no such file", Words("open "+path+": no such file"), "a word of LongestWord stays whole")
	require.Equal(t, "short message", Words("short message"))
}
