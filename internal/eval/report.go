package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// Side is one detector's result on one clip.
type Side struct {
	// Alerts are the detector's counterfeit-offer segments.
	Alerts []Segment `json:"alerts"`
	// Other are streamwatch's alerts of other rules, kept as evidence for misses.
	Other []Segment `json:"other_alerts,omitempty"`
	Score Score     `json:"score"`
	// CPUSeconds is user+system time of the detector's processes on this clip.
	CPUSeconds float64 `json:"cpu_s"`
	// Frames counts the frames the detector read (streamwatch: one per second of media).
	Frames int `json:"frames"`
	// Cached is true when the baseline's reading came from an earlier run.
	Cached bool `json:"cached,omitempty"`
	// FrameTexts is what the baseline read in each frame.
	FrameTexts []FrameText `json:"frame_texts,omitempty"`
	// FrameStats are streamwatch's per-frame line and hit counts, from its debug log.
	FrameStats []FrameStat `json:"frame_stats,omitempty"`
	// Error is why the detector could not be scored on this clip; its numbers are
	// then left out of the totals.
	Error string `json:"error,omitempty"`
}

// ClipResult is the evaluation of one clip.
type ClipResult struct {
	Name       string `json:"name"`
	Category   string `json:"category"`
	DurationMS int64  `json:"duration_ms"`
	// Captions are every caption's text, for the record.
	Captions []Evidence `json:"captions"`
	// Truth are the clip's counterfeit offers.
	Truth       []Segment `json:"truth"`
	Streamwatch Side      `json:"streamwatch"`
	Baseline    *Side     `json:"baseline,omitempty"`
}

// SideTotals adds up one detector's scores over clips.
type SideTotals struct {
	Found      int     `json:"found"`
	Alerts     int     `json:"alerts"`
	TrueAlerts int     `json:"true_alerts"`
	CPUSeconds float64 `json:"cpu_s"`
	// Recall is Found/Truth, Precision TrueAlerts/Alerts; nil where undefined.
	Recall    *float64 `json:"recall"`
	Precision *float64 `json:"precision"`
	// Failed counts clips the detector could not be scored on.
	Failed int `json:"failed,omitempty"`
}

// Totals is a row of the table: a category, or all clips.
type Totals struct {
	Category    string      `json:"category"`
	Clips       int         `json:"clips"`
	Truth       int         `json:"truth"`
	Streamwatch SideTotals  `json:"streamwatch"`
	Baseline    *SideTotals `json:"baseline,omitempty"`
}

// Timings are wall-clock seconds of the phases of a run.
type Timings struct {
	WallSeconds        float64 `json:"wall_s"`
	GenerateSeconds    float64 `json:"generate_s"`
	StreamwatchSeconds float64 `json:"streamwatch_s"`
	BaselineSeconds    float64 `json:"baseline_s"`
}

// Report is the outcome of a Run.
type Report struct {
	Corpus         string       `json:"corpus"`
	Bin            string       `json:"bin"`
	ClipsGenerated int          `json:"clips_generated"`
	Categories     []Totals     `json:"categories"`
	Overall        Totals       `json:"overall"`
	Clips          []ClipResult `json:"clips"`
	// MedianCPUPerFrame is, per detector, the median over clips of the clip's CPU
	// seconds divided by the frames it read: for streamwatch the whole process
	// (start-up, decoding, OCR, matching) per sampled frame.
	MedianCPUPerFrame struct {
		Streamwatch *float64 `json:"streamwatch"`
		Baseline    *float64 `json:"baseline,omitempty"`
	} `json:"median_cpu_s_per_frame"`
	Timings Timings `json:"timings"`
}

// summarize fills the category rows (in corpus order), the overall row and the medians.
func (r *Report) summarize(corpus []clipgen.Clip) {
	var order []string
	for _, c := range corpus {
		if !slices.Contains(order, c.Category) {
			order = append(order, c.Category)
		}
	}
	rows := map[string]*Totals{}
	for _, cat := range order {
		rows[cat] = &Totals{Category: cat}
	}
	r.Overall = Totals{Category: "overall"}
	var swPer, basePer []float64
	for _, c := range r.Clips {
		for _, t := range []*Totals{rows[c.Category], &r.Overall} {
			t.Clips++
			t.Truth += len(c.Truth)
			t.Streamwatch.add(&c.Streamwatch)
			if c.Baseline != nil {
				if t.Baseline == nil {
					t.Baseline = &SideTotals{}
				}
				t.Baseline.add(c.Baseline)
			}
		}
		if c.Streamwatch.Error == "" && c.Streamwatch.Frames > 0 {
			swPer = append(swPer, c.Streamwatch.CPUSeconds/float64(c.Streamwatch.Frames))
		}
		if b := c.Baseline; b != nil && b.Error == "" && b.Frames > 0 {
			basePer = append(basePer, b.CPUSeconds/float64(b.Frames))
		}
	}
	r.Categories = r.Categories[:0]
	for _, cat := range order {
		if t := rows[cat]; t.Clips > 0 {
			t.finish()
			r.Categories = append(r.Categories, *t)
		}
	}
	r.Overall.finish()
	r.MedianCPUPerFrame.Streamwatch = median(swPer)
	r.MedianCPUPerFrame.Baseline = median(basePer)
}

func (s *SideTotals) add(d *Side) {
	if d.Error != "" {
		s.Failed++
		return
	}
	s.Found += d.Score.Found
	s.Alerts += d.Score.Alerts
	s.TrueAlerts += d.Score.TrueAlerts
	s.CPUSeconds += d.CPUSeconds
}

func (t *Totals) finish() {
	for _, s := range []*SideTotals{&t.Streamwatch, t.Baseline} {
		if s == nil {
			continue
		}
		s.Recall = ratio(s.Found, t.Truth)
		s.Precision = ratio(s.TrueAlerts, s.Alerts)
		s.CPUSeconds = round(s.CPUSeconds, 2)
	}
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := round(float64(a)/float64(b), 4)
	return &v
}

func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	m = round(m, 3)
	return &m
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// WriteTable writes the per-category and overall table as aligned plain text.
func (r *Report) WriteTable(w io.Writer) error {
	withBase := r.Overall.Baseline != nil
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "category\tclips\toffers\tsw recall\tsw precision\tsw CPU s\t"
	if withBase {
		head += "base recall\tbase precision\tbase CPU s\t"
	}
	// AlignRight suits the numbers; padding the names to one width keeps them flush left.
	width := len("category")
	for _, t := range r.Categories {
		width = max(width, len(t.Category))
	}
	fmt.Fprintf(tw, "%-*s%s\n", width, "category", strings.TrimPrefix(head, "category"))
	row := func(t Totals) {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%s\t%s\t", width, t.Category, t.Clips, t.Truth,
			frac(t.Streamwatch.Found, t.Truth), frac(t.Streamwatch.TrueAlerts, t.Streamwatch.Alerts), cpu(t.Streamwatch))
		if withBase {
			b := SideTotals{}
			if t.Baseline != nil {
				b = *t.Baseline
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t", frac(b.Found, t.Truth), frac(b.TrueAlerts, b.Alerts), cpu(b))
		}
		fmt.Fprintln(tw)
	}
	for _, t := range r.Categories {
		row(t)
	}
	row(r.Overall)
	if err := tw.Flush(); err != nil {
		return err
	}
	// AlignRight pads every first cell on the left too.
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimPrefix(l, "  ")); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if m := r.MedianCPUPerFrame.Streamwatch; m != nil {
		fmt.Fprintf(w, "streamwatch CPU s per sampled frame (whole process: start-up, decode, OCR, match; clip CPU / sampled frames at 1 fps), median over clips: %.3f\n", *m)
	}
	if m := r.MedianCPUPerFrame.Baseline; m != nil {
		fmt.Fprintf(w, "baseline CPU s per frame (ffmpeg + tesseract CPU / frames), median over clips: %.3f\n", *m)
	}
	cached := 0
	for _, c := range r.Clips {
		if c.Baseline != nil && c.Baseline.Cached {
			cached++
		}
	}
	if cached > 0 {
		fmt.Fprintf(w, "baseline results of %d of %d clips came from the cache (its CPU s as measured when they were made; -rerun-baseline to redo)\n", cached, len(r.Clips))
	}
	if f := r.Overall.Streamwatch.Failed; f > 0 {
		fmt.Fprintf(w, "streamwatch failed on %d clips (left out of the numbers)\n", f)
	}
	if b := r.Overall.Baseline; b != nil && b.Failed > 0 {
		fmt.Fprintf(w, "baseline failed on %d clips (left out of the numbers)\n", b.Failed)
	}
	fmt.Fprintf(w, "wall %.0fs: generate %.0fs, streamwatch %.0fs, baseline %.0fs; %d clips generated, %d reused\n",
		r.Timings.WallSeconds, r.Timings.GenerateSeconds, r.Timings.StreamwatchSeconds, r.Timings.BaselineSeconds,
		r.ClipsGenerated, len(r.Clips)-r.ClipsGenerated)
	return nil
}

// frac formats n/d as "75% 3/4", or "- 0/0" when d is 0.
func frac(n, d int) string {
	if d == 0 {
		return "- 0/0"
	}
	return fmt.Sprintf("%.0f%% %d/%d", 100*float64(n)/float64(d), n, d)
}

func cpu(s SideTotals) string {
	out := fmt.Sprintf("%.1f", s.CPUSeconds)
	if s.Failed > 0 {
		out += fmt.Sprintf(" (%d failed)", s.Failed)
	}
	return out
}

// WriteJSON writes the report, clips included, to path.
func (r *Report) WriteJSON(path string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(js, '\n'), 0o644)
}

// writeClipDetails prints what each detector made of one clip: its alerts, the
// offers it missed and why, and its false alarms, with the text it read.
func writeClipDetails(w io.Writer, c ClipResult) {
	fmt.Fprintf(w, "== %s (%s, %ss)\n", c.Name, c.Category, secs(c.DurationMS))
	for _, t := range c.Truth {
		fmt.Fprintf(w, "  offer  %s %s %s\n", span(t), ids(t), texts(t.Evidence, 0))
	}
	if len(c.Truth) == 0 {
		fmt.Fprintf(w, "  no offer; captions: %s\n", texts(c.Captions, 0))
	}
	sw := c.Streamwatch
	fmt.Fprintf(w, "  streamwatch: found %d/%d, alerts %d (%d false), CPU %.2fs\n",
		sw.Score.Found, len(c.Truth), sw.Score.Alerts, len(sw.Score.FalseAlarms), sw.CPUSeconds)
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
	b := c.Baseline
	if b == nil {
		return
	}
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
