package benchlive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streamwatch/streamwatch/internal/eval"
	"github.com/streamwatch/streamwatch/match"
)

// RatioJSONPrefix begins the JSON line of make bench's ratio.
const RatioJSONPrefix = "BENCH_RATIO_JSON "

// RatioConfig is make bench's comparison of streamwatch replay with the
// naive pipeline on one clip.
type RatioConfig struct {
	Bin       string // streamwatch binary
	Work      string // directory of the bench clip (kept) and the runs' scratch files
	Clip      string // "" makes clipgen.BenchClip in Work
	Runs      int    // runs of each pipeline; the median counts
	Languages string // of the naive pipeline's tesseract
	Workers   int    // tesseract processes the naive pipeline runs at once
	Rule      string
	Log       *slog.Logger
}

// RatioSummary is what the comparison measured.
type RatioSummary struct {
	Clip             string    `json:"clip"`
	ClipMinutes      float64   `json:"clip_min"`
	Runs             int       `json:"runs"`
	Languages        string    `json:"naive_languages"`
	StreamwatchCPUS  []float64 `json:"streamwatch_cpu_s"`
	NaiveCPUS        []float64 `json:"naive_cpu_s"`
	StreamwatchPerMn float64   `json:"streamwatch_cpu_s_per_stream_min"`
	// HeadCPUS is streamwatch's CPU on the clip's first HeadSeconds (cut
	// with ffmpeg -c copy): its start-up, mostly. SteadyPerMin is the rest
	// of the clip's cost per minute of it, what a stream costs a running
	// worker: (median CPU - median head CPU) / (clip - head minutes).
	HeadSeconds      float64   `json:"head_s"`
	HeadCPUS         []float64 `json:"streamwatch_head_cpu_s"`
	SteadyPerMin     float64   `json:"streamwatch_cpu_s_per_stream_min_after_startup"`
	NaivePerMin      float64   `json:"naive_cpu_s_per_stream_min"`
	Ratio            float64   `json:"ratio"`
	StreamwatchAlert int       `json:"streamwatch_alerts"`
	NaiveAlerts      int       `json:"naive_alerts"`
	LoadAvg          string    `json:"loadavg"`
	Version          string    `json:"version"`
	// DecodeRef is the machine's speed, measured before the runs;
	// SteadyVsDecodeAll is SteadyPerMin over its every-frame figure.
	DecodeRef
	SteadyVsDecodeAll float64 `json:"after_startup_vs_decode_all"`
}

// Ratio runs streamwatch replay and the naive pipeline on the clip in turn,
// cfg.Runs times each, and writes their CPU-s per stream-minute side by side,
// with the ratio of the medians, to out.
func Ratio(ctx context.Context, cfg RatioConfig, out io.Writer) (*RatioSummary, error) {
	if cfg.Runs < 1 {
		return nil, fmt.Errorf("%w: runs %d, need at least 1", ErrConfig, cfg.Runs)
	}
	if cfg.Rule == "" {
		cfg.Rule = "counterfeit-offer"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	clip, err := prepareClip(ctx, Config{Clip: cfg.Clip, Work: cfg.Work, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(cfg.Work, "ratio-")
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			cfg.Log.Warn("scratch directory not removed", "dir", scratch, "err", err)
		}
	}()
	m, err := readMachine()
	if err != nil {
		return nil, err
	}
	s := &RatioSummary{Clip: clip.path, ClipMinutes: clip.length.Minutes(), Runs: cfg.Runs, Languages: cfg.Languages,
		LoadAvg: m.load1 + " " + m.load5, Version: binVersion(cfg.Bin)}
	head, err := cutHead(ctx, clip.path, scratch, headLength)
	if err != nil {
		return nil, err
	}
	s.HeadSeconds = headLength.Seconds()
	if s.DecodeRef, err = measureDecodeRef(ctx, clip); err != nil {
		return nil, err
	}
	warm, err := warmFlag(ctx, cfg.Bin)
	if err != nil {
		return nil, err
	}
	// Alternating the two spreads the machine's other load over both alike.
	for i := range cfg.Runs {
		cpu, alerts, err := replayCPU(ctx, cfg.Bin, clip.path, filepath.Join(scratch, "records.jsonl"), cfg.Rule, warm...)
		if err != nil {
			return nil, err
		}
		s.StreamwatchCPUS, s.StreamwatchAlert = append(s.StreamwatchCPUS, round(cpu.Seconds(), 2)), alerts
		hcpu, _, err := replayCPU(ctx, cfg.Bin, head, filepath.Join(scratch, "head.jsonl"), cfg.Rule, warm...)
		if err != nil {
			return nil, err
		}
		s.HeadCPUS = append(s.HeadCPUS, round(hcpu.Seconds(), 2))
		cfg.Log.Info("streamwatch replay", "run", i+1, "cpu_s", cpu.Seconds(), "alerts", alerts, "head_cpu_s", hcpu.Seconds())
		frames, ncpu, err := eval.RunBaseline(ctx, clip.path, filepath.Join(scratch, "frames"), cfg.Languages, max(cfg.Workers, 1))
		if err != nil {
			return nil, fmt.Errorf("benchlive: naive pipeline: %w", err)
		}
		s.NaiveCPUS = append(s.NaiveCPUS, round(ncpu.Seconds(), 2))
		s.NaiveAlerts = len(eval.BaselineSegments(eval.NewNaiveMatcher(match.DefaultRules()), frames, eval.BaselineGapMS))
		cfg.Log.Info("naive ffmpeg + tesseract", "run", i+1, "cpu_s", ncpu.Seconds(), "alerts", s.NaiveAlerts)
	}
	s.StreamwatchPerMn = round(Median(s.StreamwatchCPUS)/s.ClipMinutes, 3)
	s.NaivePerMin = round(Median(s.NaiveCPUS)/s.ClipMinutes, 3)
	if rest := s.ClipMinutes - headLength.Minutes(); rest > 0 {
		s.SteadyPerMin = round((Median(s.StreamwatchCPUS)-Median(s.HeadCPUS))/rest, 3)
	}
	if s.StreamwatchPerMn > 0 {
		s.Ratio = round(s.NaivePerMin/s.StreamwatchPerMn, 1)
	}
	if s.AllPerMin > 0 {
		s.SteadyVsDecodeAll = round(s.SteadyPerMin/s.AllPerMin, 3)
	}
	return s, writeRatio(out, s)
}

// headLength is how much of the clip's start is replayed alone, for the
// start-up's cost.
const headLength = 2 * time.Second

// cutHead writes the first d of clip (stream copy: the same packets) into dir.
func cutHead(ctx context.Context, clip, dir string, d time.Duration) (string, error) {
	out := filepath.Join(dir, "head"+filepath.Ext(clip))
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-y", "-i", clip, "-t", strconv.FormatFloat(d.Seconds(), 'f', 3, 64),
		"-c", "copy", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("benchlive: cut the clip's first %s: %w: %s", d, err, lastOf(string(msg), 3))
	}
	return out, nil
}

func joinFloats(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strings.Join(parts, ", ")
}

// ErrReplay is returned, wrapped, when streamwatch replay fails.
var ErrReplay = errors.New("benchlive: streamwatch replay failed")

// warmFlag returns --ocr-warm when bin's replay has it: the replays load
// their Tesseract clients at start, as a worker does, so that the head's
// replay (no text) pays for them as the whole clip's does and the figure
// after start-up is what a running worker pays; an older binary loads
// them at start anyway.
func warmFlag(ctx context.Context, bin string) ([]string, error) {
	usage, err := eval.ReplayUsage(ctx, bin)
	if err != nil || !strings.Contains(usage, "-ocr-warm") {
		return nil, err //nolint:wrapcheck // eval's error names the binary
	}
	return []string{"--ocr-warm"}, nil
}

// replayCPU runs `bin replay clip` with its defaults and extra flags (no
// NATS: records go to outPath only) and returns its CPU time and the
// alerts of rule it gave.
func replayCPU(ctx context.Context, bin, clip, outPath, rule string, extra ...string) (time.Duration, int, error) {
	if err := os.Remove(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, 0, fmt.Errorf("benchlive: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"replay", clip, "--out", outPath, "--stream-id", "bench"}, extra...)...)
	cmd.Env = replayEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w: %s", ErrReplay, err, lastOf(stderr.String(), 3))
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	f, err := os.Open(outPath)
	if errors.Is(err, os.ErrNotExist) {
		return cpu, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("benchlive: %w", err)
	}
	defer f.Close()
	segs, err := eval.ParseRecords(f)
	if err != nil {
		return 0, 0, fmt.Errorf("benchlive: %s: %w", outPath, err)
	}
	return cpu, len(eval.OfRule(segs, rule)), nil
}

// replayEnv is the environment without NATS (a replay then publishes
// nothing), with one OpenMP thread per Tesseract as make sets it.
func replayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_URL=") && !strings.HasPrefix(kv, "STREAMWATCH_") && !strings.HasPrefix(kv, "OMP_THREAD_LIMIT=") {
			env = append(env, kv)
		}
	}
	return append(env, "OMP_THREAD_LIMIT=1")
}

func lastOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "; ")
}

func writeRatio(w io.Writer, s *RatioSummary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "CPU-s per stream-minute on %s (%.1f min; %s; load average at start %s):\n", filepath.Base(s.Clip), s.ClipMinutes, s.Version, s.LoadAvg)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "pipeline\t"
	for i := range s.Runs {
		head += fmt.Sprintf("run %d\t", i+1)
	}
	fmt.Fprintln(tw, head+"median CPU-s\tper stream-minute\talerts\t")
	row := func(name string, cpus []float64, perMin float64, alerts int) {
		line := name + "\t"
		for _, c := range cpus {
			line += fmt.Sprintf("%.2f\t", c)
		}
		fmt.Fprintf(tw, "%s%.2f\t%.3f\t%d\t\n", line, Median(cpus), perMin, alerts)
	}
	row("streamwatch replay", s.StreamwatchCPUS, s.StreamwatchPerMn, s.StreamwatchAlert)
	row("ffmpeg fps=1 + tesseract "+s.Languages, s.NaiveCPUS, s.NaivePerMin, s.NaiveAlerts)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	fmt.Fprintf(&b, "ratio (naive / streamwatch, medians): %.1fx\n", s.Ratio)
	fmt.Fprintf(&b, "streamwatch after start-up: %.3f CPU-s per stream-minute (the clip's first %.0f s replayed alone: %s CPU-s, median %.2f)\n",
		s.SteadyPerMin, s.HeadSeconds, joinFloats(s.HeadCPUS), Median(s.HeadCPUS))
	fmt.Fprintf(&b, "machine speed: %s\n", refText(s.DecodeRef, s.SteadyPerMin, "streamwatch after start-up"))
	js, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	b.WriteString(RatioJSONPrefix + string(js) + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("benchlive: report: %w", err)
	}
	return nil
}
