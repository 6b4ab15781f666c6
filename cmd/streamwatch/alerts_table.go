package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"
	"golang.org/x/text/width"
)

// tableRow is an alert record as a row of the alerts table.
func tableRow(v alertView) []string {
	text := ""
	if len(v.Evidence) > 0 {
		text = v.Evidence[0].Text
	}
	list := func(ids []string) string {
		if len(ids) == 0 {
			return "-"
		}
		return strings.Join(ids, ",")
	}
	when := v.UpdatedAt
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		when = t.UTC().Format(time.DateTime) // the date and second are enough to read
	}
	return []string{when, v.StreamID, string(v.State), string(v.Severity), v.Rule, list(v.Brands), list(v.Phrases),
		mediaTime(v.StartMS) + "–" + mediaTime(v.EndMS), text}
}

// mediaTime renders milliseconds of media time as 8s, 1m02s or 1h02m05s.
func mediaTime(ms int64) string {
	if ms < 0 {
		return "-" + mediaTime(-ms)
	}
	s := ms / 1000
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return strconv.FormatInt(s, 10) + "s"
}

// table prints rows in aligned columns. Rows wait in add until flush; columns
// keep the widest width they have had, so rows flushed one by one under
// --follow stay aligned with those above. The last column is cut to what
// is left of width.
type table struct {
	w       io.Writer
	width   int // display columns of a line
	header  []string
	widths  []int
	rows    [][]string
	printed bool // the header is out
}

func (t *table) add(row []string) { t.rows = append(t.rows, row) }

func (t *table) flush() error {
	rows := t.rows
	if !t.printed {
		rows = append([][]string{t.header}, rows...)
	}
	for i := range rows {
		row := make([]string, len(rows[i]))
		for c, cell := range rows[i] {
			row[c] = sanitizeCell(cell)
		}
		rows[i] = row
		for c, cell := range row[:len(row)-1] {
			if c >= len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[c] = max(t.widths[c], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		used := 0
		for c, cell := range row[:len(row)-1] {
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", t.widths[c]-displayWidth(cell)+2))
			used += t.widths[c] + 2
		}
		b.WriteString(truncateDisplay(row[len(row)-1], max(t.width-used, 20)))
		b.WriteByte('\n')
	}
	t.rows, t.printed = t.rows[:0], true
	_, err := io.WriteString(t.w, b.String())
	return err
}

// sanitizeCell keeps OCR text and stored fields from moving the cursor or
// breaking lines: control characters become spaces.
func sanitizeCell(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r) {
		return 0
	}
	return 1
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// truncateDisplay cuts s to at most n display columns, ending it with … when
// cut.
func truncateDisplay(s string, n int) string {
	if displayWidth(s) <= n {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		rw := runeWidth(r)
		if w+rw > n-1 {
			break
		}
		b.WriteRune(r)
		w += rw
	}
	return strings.TrimRight(b.String(), " ") + "…"
}

// termWidth is the width of the terminal on out, else $COLUMNS, else 160.
func termWidth(out io.Writer) int {
	if f, ok := out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 160
}
