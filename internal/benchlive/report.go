package benchlive

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// JSONPrefix begins the summary's JSON line, so later runs can be grepped
// out of a log and compared.
const JSONPrefix = "BENCH_LIVE_JSON "

func (r *run) writeRowHeader() {
	fmt.Fprintf(r.out, "RSS over time (worker pid %d, idle %.0f MB before any stream):\n", r.w.pid, float64(r.idle.RSS)/mb)
	fmt.Fprintf(r.out, "  %8s  %8s  %8s  %13s  %6s  %8s  %7s\n", "time", "RSS MB", "peak MB", "MB per stream", "cores", "attached", "alerts")
}

// writeRow prints the worker's memory now and its CPU since prev.
func (r *run) writeRow(since time.Duration, prev, now ProcSample) {
	cores := 0.0
	if wall := now.At.Sub(prev.At).Seconds(); wall > 0 {
		cores = (now.CPU - prev.CPU).Seconds() / wall
	}
	arrivals, status := r.coll.snapshot()
	ids := map[string]bool{}
	for _, as := range arrivals {
		for _, a := range as {
			if a.Record.Rule == r.cfg.Rule {
				ids[a.Record.AlertID] = true
			}
		}
	}
	fmt.Fprintf(r.out, "  %8s  %8.0f  %8.0f  %13.1f  %6.2f  %4d/%-3d  %7d\n", since.Round(time.Second),
		float64(now.RSS)/mb, float64(now.PeakRSS)/mb, float64(now.RSS-r.idle.RSS)/mb/float64(r.cfg.Streams),
		cores, attached(status), r.cfg.Streams, len(ids))
}

// writeReport prints the per-stream table, the summary table and the JSON line.
func writeReport(w io.Writer, s *Summary) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stream\tattached after\treconnects\talerts/captions\tlatency\tlag end\tlag max\tpublisher\t")
	for _, row := range s.rows {
		pub := "ok"
		if row.publisherError != "" {
			pub = row.publisherError
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%s\t%s\t%s\t%s\t\n", row.id, durOr(row.attachedAfter, "never"), row.reconnects,
			row.alerts, row.shown, durOr(row.latency, "-"), secsOr(row.lagEnd), secsOr(row.lagMax), pub)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	b.WriteString("\n")
	writeSummaryTable(&b, s)
	js, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	b.WriteString(JSONPrefix + string(js) + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	return nil
}

func writeSummaryTable(b *strings.Builder, s *Summary) {
	mode := "clip played once"
	if s.Loop {
		mode = "clip looped"
	}
	type line struct{ k, v string }
	lines := []line{
		{"streams", fmt.Sprintf("%d (%s, publishers %d ms apart; %s)", s.Streams, mode, s.StaggerMS, s.Version)},
		{"measured span", fmt.Sprintf("%.1f s, every stream published", s.SpanS)},
		{"worker CPU", fmt.Sprintf("%.3f CPU-s per stream-minute (%.1f CPU-s)", s.CPUPerStreamMin, s.WorkerCPUS)},
		{"machine speed", refText(s.DecodeRef, s.CPUPerStreamMin, "worker CPU per stream-minute")},
		{"worker cores (mean)", fmt.Sprintf("%.2f", s.WorkerCores)},
		{"machine busy cores", fmt.Sprintf("%.2f, all processes (load average at span start %s); of them nginx %.2f, the publishers %.2f",
			s.MachineCores, s.LoadAvg, s.NginxCores, s.PublisherCores)},
		{"frames in span", fmt.Sprintf("decoded %.0f, sampled %.0f, dropped %.0f (%s), skipped %s", s.FramesDecoded, s.FramesSampled,
			s.FramesDropped, pct(s.FramesDropped, s.FramesSampled), numOr(s.FramesSkipped))},
		{"caption → alert", fmt.Sprintf("p50 %s, p95 %s, max %s (first record on NATS after the caption's onset)",
			secsOr(s.LatencyP50S), secsOr(s.LatencyP95S), secsOr(s.LatencyMaxS))},
		{"captions alerted once", fmt.Sprintf("%d/%d (missed %d, split %d; alerts outside any caption %d)", s.ExactlyOnce, s.Captions, s.Missed, s.Split, s.Stray)},
		{"worker RSS", fmt.Sprintf("peak %.0f MB, at span end %.0f MB, idle %.0f MB → %.1f MB per stream; slope over the span %+.1f MB/10 min, over its second half %+.1f",
			s.RSSPeakMB, s.RSSSpanEndMB, s.RSSIdleMB, s.RSSPerStreamMB, s.RSSSlopeMBPer10, s.RSSLateSlopeMBPer10)},
		{"reconnects in span", fmt.Sprintf("%.0f (metric); %d status events%s", s.Reconnects, s.ReconnectEvents, reasons(s.reasons))},
		{"stream lag", lagText(s)},
		{"sample interval", fmt.Sprintf("p50 %s, max %s", secsOr(s.IntervalP50S), secsOr(s.IntervalMaxS))},
		{"publishers failed", strconv.Itoa(s.PublishersFailed)},
		{"worker stop", fmt.Sprintf("%.2f s after SIGTERM%s", s.WorkerStopS, errText(s.WorkerStopError))},
	}
	if s.SampleErrors > 0 {
		lines = append(lines, line{"sampling errors", strconv.Itoa(s.SampleErrors)})
	}
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l.k)))
	}
	for _, l := range lines {
		fmt.Fprintf(b, "  %-*s  %s\n", width, l.k, l.v)
	}
}

func lagText(s *Summary) string {
	if s.LagMaxS == nil {
		return "n/a (the worker exports no streamwatch_stream_lag_seconds)"
	}
	return fmt.Sprintf("at span end p50 %s; max %s; largest growth over the span %s", secsOr(s.LagEndP50S), secsOr(s.LagMaxS), secsOr(s.LagGrowthMaxS))
}

func reasons(rs []reasonCount) string {
	if len(rs) == 0 {
		return ""
	}
	const shown = 5
	var parts []string
	rest, restN := 0, 0
	for i, r := range rs {
		if i < shown {
			parts = append(parts, fmt.Sprintf("%d× %s", r.n, r.reason))
		} else {
			rest, restN = rest+1, restN+r.n
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%d more kinds (%d events; see the worker log)", rest, restN))
	}
	return ": " + strings.Join(parts, "; ")
}

func errText(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

func pct(part, whole float64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*part/whole)
}

func durOr(d *time.Duration, none string) string {
	if d == nil {
		return none
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func secsOr(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s", *v)
}

func numOr(v *float64) string {
	if v == nil {
		return "n/a (no such metric)"
	}
	return fmt.Sprintf("%.0f", *v)
}
