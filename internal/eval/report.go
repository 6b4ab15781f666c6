package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// Side is one detector's result on one clip.
type Side struct {
	// Engine is the OCR engine streamwatch replayed with ("" its default); "" for the baseline.
	Engine string `json:"engine,omitempty"`
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
	Name     string `json:"name"`
	Category string `json:"category"`
	// HeldOut marks a clip of the held-out set (clipgen.Clip.HeldOut).
	HeldOut    bool  `json:"held_out,omitempty"`
	DurationMS int64 `json:"duration_ms"`
	// Captions are every caption's text, for the record.
	Captions []Evidence `json:"captions"`
	// Truth are the clip's counterfeit offers.
	Truth []Segment `json:"truth"`
	// Streamwatch holds one side per engine, in Report.Engines order.
	Streamwatch []Side `json:"streamwatch"`
	Baseline    *Side  `json:"baseline,omitempty"`
}

// SideTotals adds up one detector's scores over clips.
type SideTotals struct {
	// Engine is the column's label: an engine, "sw" for the binary's own; "" for the baseline.
	Engine     string  `json:"engine,omitempty"`
	Found      int     `json:"found"`
	Alerts     int     `json:"alerts"`
	TrueAlerts int     `json:"true_alerts"`
	CPUSeconds float64 `json:"cpu_s"`
	// Frames and MediaSeconds are what the clips scored held: frames read, seconds of video.
	Frames       int     `json:"frames"`
	MediaSeconds float64 `json:"media_s"`
	// Recall is Found/Truth, Precision TrueAlerts/Alerts; nil where undefined.
	Recall    *float64 `json:"recall"`
	Precision *float64 `json:"precision"`
	// CPUPerFrame is CPUSeconds/Frames, CPUPerMinute CPU seconds per minute of video
	// (per stream-minute); nil where undefined.
	CPUPerFrame  *float64 `json:"cpu_s_per_frame"`
	CPUPerMinute *float64 `json:"cpu_s_per_stream_minute"`
	// SteadyPerMinute is CPU seconds per minute of video after start-up: each
	// clip's CPU less the engine's Report.StartupCPUSeconds; nil where undefined.
	SteadyPerMinute *float64 `json:"cpu_s_per_stream_minute_after_startup"`
	// startup is the start-up CPU seconds taken off each clip for SteadyPerMinute.
	startup   float64
	steadyCPU float64
	// Failed counts clips the detector could not be scored on.
	Failed int `json:"failed,omitempty"`
}

// Totals is a row of the table: a category, a set, or all clips.
type Totals struct {
	Category string `json:"category"`
	// HeldOut is true for the held-out set's categories and its row.
	HeldOut bool `json:"held_out,omitempty"`
	Clips   int  `json:"clips"`
	Truth   int  `json:"truth"`
	// Streamwatch holds one column group per engine, in Report.Engines order.
	Streamwatch []SideTotals `json:"streamwatch"`
	Baseline    *SideTotals  `json:"baseline,omitempty"`
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
	Corpus string `json:"corpus"`
	Bin    string `json:"bin"`
	// Engines label streamwatch's columns: the engines replayed with, "sw" for the binary's own.
	Engines        []string `json:"engines"`
	ClipsGenerated int      `json:"clips_generated"`
	// Categories are the rows of the tuned-on categories, then the held-out set's.
	Categories []Totals `json:"categories"`
	// Sets are the tuned-on and the held-out set's rows, when the corpus has both.
	Sets    []Totals     `json:"sets,omitempty"`
	Overall Totals       `json:"overall"`
	Clips   []ClipResult `json:"clips"`
	// MedianCPUPerFrame is, per detector, the median over clips of the clip's CPU
	// seconds divided by the frames it read: for streamwatch (per engine label) the
	// whole process (start-up, decoding, OCR, matching) per sampled frame.
	// StartupCPUSeconds is, per engine label, the median CPU seconds of three
	// replays of a 1-s clip without text: the start-up every clip's figure holds.
	StartupCPUSeconds map[string]float64 `json:"startup_cpu_s,omitempty"`
	MedianCPUPerFrame struct {
		Streamwatch map[string]*float64 `json:"streamwatch"`
		Baseline    *float64            `json:"baseline,omitempty"`
	} `json:"median_cpu_s_per_frame"`
	Timings Timings `json:"timings"`
}

// summarize fills the category rows (in corpus order, the held-out set's
// last), the set rows, the overall row and the medians.
func (r *Report) summarize(corpus []clipgen.Clip) {
	type key struct {
		cat     string
		heldOut bool
	}
	var order []key
	for _, held := range []bool{false, true} {
		for _, c := range corpus {
			if k := (key{c.Category, c.HeldOut}); c.HeldOut == held && !slices.Contains(order, k) {
				order = append(order, k)
			}
		}
	}
	rows := map[key]*Totals{}
	for _, k := range order {
		rows[k] = r.newTotals(k.cat, k.heldOut)
	}
	sets := map[bool]*Totals{false: r.newTotals("tuned-on set", false), true: r.newTotals("held-out set", true)}
	r.Overall = *r.newTotals("overall", false)
	swPer := map[string][]float64{}
	var basePer []float64
	for _, c := range r.Clips {
		for _, t := range []*Totals{rows[key{c.Category, c.HeldOut}], sets[c.HeldOut], &r.Overall} {
			t.add(c)
		}
		for i, sw := range c.Streamwatch {
			if sw.Error == "" && sw.Frames > 0 && i < len(r.Engines) {
				swPer[r.Engines[i]] = append(swPer[r.Engines[i]], sw.CPUSeconds/float64(sw.Frames))
			}
		}
		if b := c.Baseline; b != nil && b.Error == "" && b.Frames > 0 {
			basePer = append(basePer, b.CPUSeconds/float64(b.Frames))
		}
	}
	r.Categories = r.Categories[:0]
	for _, k := range order {
		if t := rows[k]; t.Clips > 0 {
			t.finish()
			r.Categories = append(r.Categories, *t)
		}
	}
	r.Sets = nil
	if sets[false].Clips > 0 && sets[true].Clips > 0 {
		for _, held := range []bool{false, true} {
			sets[held].finish()
			r.Sets = append(r.Sets, *sets[held])
		}
	}
	r.Overall.finish()
	r.MedianCPUPerFrame.Streamwatch = map[string]*float64{}
	for _, e := range r.Engines {
		r.MedianCPUPerFrame.Streamwatch[e] = median(swPer[e])
	}
	r.MedianCPUPerFrame.Baseline = median(basePer)
}

func (r *Report) newTotals(name string, heldOut bool) *Totals {
	t := &Totals{Category: name, HeldOut: heldOut, Streamwatch: make([]SideTotals, len(r.Engines))}
	for i, e := range r.Engines {
		t.Streamwatch[i].Engine = e
		t.Streamwatch[i].startup = r.StartupCPUSeconds[e]
	}
	return t
}

// add counts clip c into t.
func (t *Totals) add(c ClipResult) {
	t.Clips++
	t.Truth += len(c.Truth)
	for i := range c.Streamwatch {
		if i < len(t.Streamwatch) {
			t.Streamwatch[i].add(&c.Streamwatch[i], c.DurationMS)
		}
	}
	if c.Baseline != nil {
		if t.Baseline == nil {
			t.Baseline = &SideTotals{}
		}
		t.Baseline.add(c.Baseline, c.DurationMS)
	}
}

func (s *SideTotals) add(d *Side, durationMS int64) {
	if d.Error != "" {
		s.Failed++
		return
	}
	s.Found += d.Score.Found
	s.Alerts += d.Score.Alerts
	s.TrueAlerts += d.Score.TrueAlerts
	s.CPUSeconds += d.CPUSeconds
	s.steadyCPU += d.CPUSeconds - s.startup
	s.Frames += d.Frames
	s.MediaSeconds += float64(durationMS) / 1000
}

func (t *Totals) finish() {
	sides := []*SideTotals{t.Baseline}
	for i := range t.Streamwatch {
		sides = append(sides, &t.Streamwatch[i])
	}
	for _, s := range sides {
		if s == nil {
			continue
		}
		s.Recall = ratio(s.Found, t.Truth)
		s.Precision = ratio(s.TrueAlerts, s.Alerts)
		if s.Frames > 0 {
			v := round(s.CPUSeconds/float64(s.Frames), 3)
			s.CPUPerFrame = &v
		}
		if s.MediaSeconds > 0 {
			v := round(s.CPUSeconds/(s.MediaSeconds/60), 2)
			s.CPUPerMinute = &v
			if s.startup > 0 {
				v := round(s.steadyCPU/(s.MediaSeconds/60), 2)
				s.SteadyPerMinute = &v
			}
		}
		s.CPUSeconds = round(s.CPUSeconds, 2)
		s.MediaSeconds = round(s.MediaSeconds, 1)
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

// WriteTable writes the per-category, per-set and overall table as aligned
// plain text: per engine recall, precision, CPU s per sampled frame and per
// stream-minute; then the baseline's recall, precision and CPU s per frame.
func (r *Report) WriteTable(w io.Writer) error {
	withBase := r.Overall.Baseline != nil
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "category\tclips\toffers\t"
	for _, e := range r.Engines {
		head += fmt.Sprintf("%[1]s recall\t%[1]s precision\t%[1]s CPU s/frame\t%[1]s CPU s/min\t%[1]s CPU s/min after start-up\t", e)
	}
	if withBase {
		head += "base recall\tbase precision\tbase CPU s/frame\t"
	}
	// AlignRight suits the numbers; padding the names to one width keeps them flush left.
	width := len("category")
	for _, t := range slices.Concat(r.Categories, r.Sets) {
		width = max(width, len(rowName(t)))
	}
	fmt.Fprintf(tw, "%-*s%s\n", width, "category", strings.TrimPrefix(head, "category"))
	row := func(t Totals) {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t", width, rowName(t), t.Clips, t.Truth)
		for _, s := range t.Streamwatch {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t", frac(s.Found, t.Truth), frac(s.TrueAlerts, s.Alerts),
				cpu(s, s.CPUPerFrame, 3), opt(s.CPUPerMinute, 2), opt(s.SteadyPerMinute, 2))
		}
		if withBase {
			b := SideTotals{}
			if t.Baseline != nil {
				b = *t.Baseline
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t", frac(b.Found, t.Truth), frac(b.TrueAlerts, b.Alerts), cpu(b, b.CPUPerFrame, 3))
		}
		fmt.Fprintln(tw)
	}
	for _, t := range slices.Concat(r.Categories, r.Sets) {
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
	if len(r.Sets) > 0 {
		fmt.Fprintln(w, "* held-out set: made before any tuning and not tuned on (clips with held_out in the corpus)")
	}
	for _, e := range r.Engines {
		if m := r.MedianCPUPerFrame.Streamwatch[e]; m != nil {
			fmt.Fprintf(w, "%s CPU s per sampled frame (whole process: start-up, decode, OCR, match; clip CPU / sampled frames at 1 fps), median over clips: %.3f\n", e, *m)
		}
	}
	for _, e := range r.Engines {
		if st, ok := r.StartupCPUSeconds[e]; ok {
			fmt.Fprintf(w, "%s CPU s/min after start-up: each clip's CPU less %.2f s, the median of %d replays of a 1-s clip without text (start-up: models loaded, source opened), per minute of video\n", e, st, startupRuns)
		}
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
	for _, s := range r.Overall.Streamwatch {
		if s.Failed > 0 {
			fmt.Fprintf(w, "%s failed on %d clips (left out of the numbers)\n", s.Engine, s.Failed)
		}
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

// rowName is a row's first cell: held-out categories are starred.
func rowName(t Totals) string {
	if t.HeldOut {
		return t.Category + " *"
	}
	return t.Category
}

// opt formats v with digits decimals, "-" when nil.
func opt(v *float64, digits int) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', digits, 64)
}

// cpu formats a CPU figure of s, with how many clips it failed on.
func cpu(s SideTotals, v *float64, digits int) string {
	out := opt(v, digits)
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
