package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/streamwatch/streamwatch/match"
)

// Figures are the numbers of one file's replay an auditor writes down.
type Figures struct {
	Media   time.Duration // the input's length (the media time read when its container does not say)
	Elapsed time.Duration
	Speed   float64 // media time per wall-clock time; 0 when nothing was read
	Alerts  int
	// BySeverity counts the alerts by severity, most severe first, every
	// severity present.
	BySeverity []SeverityCount
	Unwatched  time.Duration // the sum of the unwatched spans
}

// SeverityCount is how many alerts had a severity.
type SeverityCount struct {
	Severity match.Severity
	Count    int
}

// Figures returns f's figures.
func (f *File) Figures() Figures {
	g := Figures{Media: f.Duration, Elapsed: f.Elapsed, Alerts: len(f.Alerts)}
	read := time.Duration(f.MediaMS) * time.Millisecond
	if g.Media <= 0 {
		g.Media = read
	}
	if f.Elapsed > 0 {
		g.Speed = float64(read) / float64(f.Elapsed)
	}
	sev := slices.Clone(match.Severities())
	slices.Reverse(sev)
	for _, s := range sev {
		n := 0
		for _, a := range f.Alerts {
			if a.Severity == s {
				n++
			}
		}
		g.BySeverity = append(g.BySeverity, SeverityCount{s, n})
	}
	for _, s := range f.Unwatched {
		g.Unwatched += time.Duration(s.ToMS-s.FromMS) * time.Millisecond
	}
	return g
}

// summaryText is f's summary for people, one line:
// "demo.mp4: 34s of media in 6.2s (5.5x real time); 3 alerts (high 3, medium 0, low 0); unwatched: none".
func summaryText(f *File) string {
	if f.started.IsZero() {
		return f.Path + ": not replayed (the run stopped before it)"
	}
	g := f.Figures()
	var sev []string
	for _, s := range g.BySeverity {
		sev = append(sev, fmt.Sprintf("%s %d", s.Severity, s.Count))
	}
	alertsWord := "alerts"
	if g.Alerts == 1 {
		alertsWord = "alert"
	}
	unwatched := "none"
	if n := len(f.Unwatched); n > 0 {
		spans := "spans"
		if n == 1 {
			spans = "span"
		}
		unwatched = fmt.Sprintf("%d %s, %s", n, spans, roundDuration(g.Unwatched))
	}
	s := fmt.Sprintf("%s: %s of media in %s (%.1fx real time); %d %s (%s); unwatched: %s",
		f.Path, roundDuration(g.Media), roundDuration(g.Elapsed), g.Speed, g.Alerts, alertsWord, strings.Join(sev, ", "), unwatched)
	if f.Err != "" {
		s += "; failed: " + strings.Join(strings.Fields(f.Err), " ")
	}
	return s
}

// WriteSummary writes one line per file to w: "replay summary: " and its
// figures.
func (r *Run) WriteSummary(w io.Writer) error {
	for _, f := range r.Files() {
		if _, err := fmt.Fprintln(w, "replay summary: "+summaryText(f)); err != nil {
			return fmt.Errorf("report: summary: %w", err)
		}
	}
	return nil
}

// LogSummary logs one entry per file, "replay summary" at info level, with
// its figures as attributes.
func (r *Run) LogSummary(ctx context.Context, log *slog.Logger) {
	for _, f := range r.Files() {
		g := f.Figures()
		sev := make([]any, 0, len(g.BySeverity))
		for _, s := range g.BySeverity {
			sev = append(sev, slog.Int(string(s.Severity), s.Count))
		}
		attrs := []slog.Attr{
			slog.String("component", "report"), slog.String("file", f.Path), slog.String("stream", f.StreamID),
			slog.Int64("duration_ms", g.Media.Milliseconds()), slog.Int64("media_ms", f.MediaMS),
			slog.Int64("elapsed_ms", g.Elapsed.Milliseconds()), slog.Float64("speed", round2(g.Speed)),
			slog.Int("alerts", g.Alerts), slog.Group("alerts_by_severity", sev...),
			slog.Int("unwatched_spans", len(f.Unwatched)), slog.Int64("unwatched_ms", g.Unwatched.Milliseconds()),
		}
		if f.Err != "" {
			attrs = append(attrs, slog.String("err", f.Err))
		}
		log.LogAttrs(ctx, slog.LevelInfo, "replay summary", attrs...)
	}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
