package eval

import (
	"fmt"
	"io"
	"strings"
)

// writeClipDetails prints what each detector made of one clip: its alerts, the
// offers it missed and why, and its false alarms, with the text it read.
func writeClipDetails(w io.Writer, c ClipResult) {
	held := ""
	if c.HeldOut {
		held = ", held out"
	}
	fmt.Fprintf(w, "== %s (%s%s, %ss)\n", c.Name, c.Category, held, secs(c.DurationMS))
	for _, t := range c.Truth {
		fmt.Fprintf(w, "  offer  %s %s %s\n", span(t), ids(t), texts(t.Evidence, 0))
	}
	if len(c.Truth) == 0 {
		fmt.Fprintf(w, "  no offer; captions: %s\n", texts(c.Captions, 0))
	}
	for _, sw := range c.Streamwatch {
		writeSideDetails(w, c, sw)
	}
	b := c.Baseline
	if b == nil {
		return
	}
	writeBaselineDetails(w, c, b)
}

// writeSideDetails prints what streamwatch with one engine made of clip c.
func writeSideDetails(w io.Writer, c ClipResult, sw Side) {
	name := "streamwatch"
	if sw.Engine != "" {
		name += " --ocr-engine " + sw.Engine
	}
	fmt.Fprintf(w, "  %s: found %d/%d, alerts %d (%d false), CPU %.2fs\n",
		name, sw.Score.Found, len(c.Truth), sw.Score.Alerts, len(sw.Score.FalseAlarms), sw.CPUSeconds)
	if sw.Error != "" {
		fmt.Fprintf(w, "    ERROR %s\n", sw.Error)
	}
	for _, a := range sw.Alerts {
		fmt.Fprintf(w, "    alert %s %s evidence: %s\n", span(a), ids(a), texts(a.Evidence, 0))
	}
	for _, m := range sw.Score.Misses {
		fmt.Fprintf(w, "    MISS %s %s: %s\n", span(m.Truth), ids(m.Truth), m.Reason)
		for _, o := range sw.Other {
			if m.Truth.overlaps(o) {
				fmt.Fprintf(w, "      meanwhile %s %s %s: %s\n", o.Rule, span(o), ids(o), texts(o.Evidence, 0))
			}
		}
		var counts []string
		for _, f := range sw.FrameStats {
			if f.AtMS >= m.Truth.StartMS && f.AtMS < m.Truth.EndMS {
				counts = append(counts, fmt.Sprintf("%ss %d/%d", secs(f.AtMS), f.Lines, f.Hits))
			}
		}
		if len(counts) > 0 {
			fmt.Fprintf(w, "      lines/hits per frame meanwhile (from the debug log, which may lack frames): %s\n", strings.Join(counts, " · "))
		}
	}
	for _, a := range sw.Score.FalseAlarms {
		fmt.Fprintf(w, "    FALSE ALARM %s %s: %s\n", span(a), ids(a), texts(a.Evidence, 0))
	}
}

// writeBaselineDetails prints what the baseline made of clip c.
func writeBaselineDetails(w io.Writer, c ClipResult, b *Side) {
	fmt.Fprintf(w, "  baseline: found %d/%d, alerts %d (%d false), CPU %.2fs%s\n",
		b.Score.Found, len(c.Truth), b.Score.Alerts, len(b.Score.FalseAlarms), b.CPUSeconds, map[bool]string{true: " (cached)"}[b.Cached])
	if b.Error != "" {
		fmt.Fprintf(w, "    ERROR %s\n", b.Error)
	}
	for _, a := range b.Alerts {
		fmt.Fprintf(w, "    alert %s %s\n", span(a), ids(a))
	}
	for _, m := range b.Score.Misses {
		fmt.Fprintf(w, "    MISS %s %s: %s\n", span(m.Truth), ids(m.Truth), m.Reason)
		var during []Evidence
		blank := 0
		for _, f := range b.FrameTexts {
			switch {
			case f.AtMS < m.Truth.StartMS || f.AtMS >= m.Truth.EndMS:
			case strings.TrimSpace(f.Text) == "":
				blank++
			default:
				during = append(during, Evidence(f))
			}
		}
		fmt.Fprintf(w, "      OCR meanwhile (%d frames read nothing): %s\n", blank, texts(during, 3))
	}
	for _, a := range b.Score.FalseAlarms {
		fmt.Fprintf(w, "    FALSE ALARM %s %s: %s\n", span(a), ids(a), texts(a.Evidence, 3))
	}
}

func ids(s Segment) string {
	return fmt.Sprintf("[%s | %s]", strings.Join(s.Brands, ","), strings.Join(s.Phrases, ","))
}

// texts formats evidence as `2s "text" · 3s "text"`, at most limit items (0: all),
// each on one line and cut short.
func texts(ev []Evidence, limit int) string {
	if len(ev) == 0 {
		return "(none)"
	}
	var parts []string
	for i, e := range ev {
		if limit > 0 && i == limit {
			parts = append(parts, fmt.Sprintf("… %d more", len(ev)-limit))
			break
		}
		t := strings.Join(strings.Fields(e.Text), " ")
		if r := []rune(t); len(r) > 100 {
			t = string(r[:100]) + "…"
		}
		parts = append(parts, fmt.Sprintf("%ss %q", secs(e.AtMS), t))
	}
	return strings.Join(parts, " · ")
}
