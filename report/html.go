package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/streamwatch/streamwatch/alerts"
)

//go:embed report.html.tmpl
var pageTemplate string

// tmpl is parsed once; TestTemplateParses makes sure it does, so nothing
// panics on import.
var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": formatMS,
	"bytes": func(n int64) string {
		if n < 0 {
			return "not a regular file"
		}
		return fmt.Sprintf("%d bytes", n)
	},
	"dur": func(d time.Duration) string { return roundDuration(d).String() },
}).Parse(pageTemplate))

// timelineWidth is the width of a timeline's SVG view box.
const timelineWidth = 1000.0

type pageView struct {
	Generated string
	Tool      Tool
	Rules     Rules
	Files     []fileView
}

type fileView struct {
	*File
	Figures  Figures
	Timeline timelineView
	Alerts   []alertView
}

type timelineView struct {
	Length   string // the media time the axis spans
	Ticks    []tickView
	Segments []barView
	Gaps     []barView
}

type tickView struct {
	X     float64
	Label string
}

type barView struct {
	X, W   float64
	Anchor string // the id of the alert's section; empty for a gap
	Class  string
	Title  string
}

type alertView struct {
	alerts.Record
	Anchor  string
	Frame   template.URL // data: URI of the evidence frame; empty when not kept
	Lines   []lineView
	Missing []string // keys of images the record names that were not kept
}

type lineView struct {
	alerts.Evidence
	Pieces []Piece
	Crop   template.URL
}

// WriteHTML writes the report of the run as one HTML page that needs
// nothing else: styles inline, the timelines inline SVG, evidence images
// as data: URIs. Call it after the last End.
func (r *Run) WriteHTML(w io.Writer) error {
	v := pageView{Generated: r.Started.UTC().Format(time.RFC3339), Tool: r.Tool, Rules: r.Rules}
	for _, f := range r.Files() {
		fv := fileView{File: f, Figures: f.Figures()}
		fv.Timeline = timeline(f)
		for _, a := range f.Alerts {
			fv.Alerts = append(fv.Alerts, r.alertView(a))
		}
		v.Files = append(v.Files, fv)
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}

func (r *Run) alertView(a alerts.Record) alertView {
	v := alertView{Record: a, Anchor: "alert-" + a.AlertID}
	image := func(key string) template.URL {
		if key == "" {
			return ""
		}
		data := r.Collector.Image(key)
		if data == nil {
			v.Missing = append(v.Missing, key)
			return ""
		}
		// Safe: a data: URI of JPEG bytes this process encoded, in base64.
		return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(data)) //nolint:gosec // see above
	}
	v.Frame = image(a.EvidenceFrame)
	for _, e := range a.Evidence {
		v.Lines = append(v.Lines, lineView{Evidence: e, Pieces: highlight(r.Matcher, e.Text), Crop: image(e.Crop)})
	}
	return v
}

// timeline lays out f's alerts and unwatched spans along its media time.
func timeline(f *File) timelineView {
	length := max(f.Duration.Milliseconds(), f.MediaMS)
	for _, a := range f.Alerts {
		length = max(length, a.EndMS)
	}
	for _, s := range f.Unwatched {
		length = max(length, s.ToMS)
	}
	length = max(length, 1)
	round := func(v float64) float64 { return math.Round(v*10) / 10 }
	x := func(ms int64) float64 { return round(float64(ms) * timelineWidth / float64(length)) }
	bar := func(from, to int64) (float64, float64) {
		return x(from), max(round(x(to)-x(from)), 2)
	}
	v := timelineView{Length: formatMS(length)}
	step := tickStep(length)
	for t := int64(0); t <= length; t += step {
		v.Ticks = append(v.Ticks, tickView{X: x(t), Label: formatMS(t)})
	}
	for _, a := range f.Alerts {
		bx, bw := bar(a.StartMS, a.EndMS)
		v.Segments = append(v.Segments, barView{X: bx, W: bw, Anchor: "alert-" + a.AlertID,
			Class: "sev-" + string(a.Severity), Title: fmt.Sprintf("%s %s %s–%s", a.Severity, a.Rule, formatMS(a.StartMS), formatMS(a.EndMS))})
	}
	for _, s := range f.Unwatched {
		bx, bw := bar(s.FromMS, s.ToMS)
		v.Gaps = append(v.Gaps, barView{X: bx, W: bw, Class: "gap", Title: "unwatched " + formatMS(s.FromMS) + "–" + formatMS(s.ToMS)})
	}
	return v
}

// tickStep is the media time between the labelled ticks of a timeline
// length ms long: a round step that gives at most ten of them.
func tickStep(length int64) int64 {
	for _, s := range []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if length/(s*1000) <= 10 {
			return s * 1000
		}
	}
	return (length/10/3_600_000 + 1) * 3_600_000
}

// formatMS is media time for people: "1:02.5", "1:02:03".
func formatMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	s := float64(d%time.Minute) / float64(time.Second)
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02.0f", h, m, math.Floor(s))
	}
	return fmt.Sprintf("%d:%04.1f", m, s)
}
