// Package eval measures how well streamwatch finds counterfeit offers in generated
// clips with known captions, next to a baseline a user would script (whole frames,
// once a second, through the tesseract CLI, with a substring search).
package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/match"
)

// Config says what to evaluate and where.
type Config struct {
	// Corpus is the JSON list of clipgen.Clip to evaluate; required.
	Corpus string
	// Bin is the streamwatch binary to replay clips with; required.
	Bin string
	// Work is the directory for generated clips, records, logs and cached
	// baseline results; required. Clips whose spec is unchanged are reused.
	Work string
	// Only, when set, keeps the clips whose names it matches.
	Only *regexp.Regexp
	// Engines are the OCR engines to replay each clip with (--ocr-engine), side
	// by side in the report; default every engine the binary's replay --help
	// names, or, when it has no --ocr-engine, its one built-in engine.
	Engines []string
	// SkipBaseline leaves the baseline out.
	SkipBaseline bool
	// RerunBaseline ignores cached baseline results (default: reused while the
	// clip, the languages and Tesseract's version are unchanged).
	RerunBaseline bool
	// Languages are the baseline's Tesseract languages; default "eng+chi_sim",
	// as streamwatch's.
	Languages string
	// BaselineWorkers is how many tesseract processes run at once; default 2.
	BaselineWorkers int
	// Verbose prints, per clip, every alert, miss and false alarm with its text.
	Verbose bool
	// JSON, when set, is a file to write the report to.
	JSON string
	// Out receives the table (and the per-clip details); default os.Stdout.
	Out io.Writer
	// Log receives progress; default slog.Default().
	Log *slog.Logger
}

// ErrClipFailed is returned, wrapped, when some clips could not be evaluated;
// the report covers the others.
var ErrClipFailed = errors.New("eval: clips failed")

// ErrConfig is returned when a required field of Config is empty.
var ErrConfig = errors.New("eval: corpus, bin and work are required")

// ErrNoClip is returned, wrapped, when Config.Only keeps no clip of the corpus.
var ErrNoClip = errors.New("eval: no clip matches -only")

// Run generates the corpus into cfg.Work (reusing clips whose spec is unchanged),
// replays each clip with streamwatch and, unless skipped, runs the baseline on it,
// scores both against the clips' ground truth and writes the report. Missed
// targets are not errors: the report says how far off they are.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	began := time.Now()
	bin, err := cfg.check()
	if err != nil {
		return nil, err
	}
	log := cfg.Log.With("component", "eval")
	clips, err := selectClips(cfg)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	for _, d := range []string{"clips", "streamwatch", "baseline"} {
		dirs[d] = filepath.Join(cfg.Work, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return nil, err
		}
	}

	engines, err := resolveEngines(ctx, bin, cfg.Engines)
	if err != nil {
		return nil, err
	}
	log.Info("engines", "engines", engineLabels(engines))
	rep := &Report{Corpus: cfg.Corpus, Bin: cfg.Bin, Engines: engineLabels(engines)}
	paths, err := prepareCorpus(ctx, clips, dirs["clips"], rep, log)
	if err != nil {
		return nil, err
	}
	if rep.StartupCPUSeconds, err = measureStartup(ctx, bin, engines, dirs); err != nil {
		return nil, err
	}
	log.Info("start-up measured", "cpu_s", rep.StartupCPUSeconds)
	var baseKey string
	if !cfg.SkipBaseline {
		v, err := tesseractVersion(ctx)
		if err != nil {
			return nil, err
		}
		baseKey = baselineVersion + "; " + v + "; " + cfg.Languages
	}
	naive := NewNaiveMatcher(match.DefaultRules())

	var failed []error
	for i, c := range clips {
		res, err := evalClip(ctx, cfg, clipJob{
			clip: c, path: paths[i], dirs: dirs, bin: bin, engines: engines, baseKey: baseKey, naive: naive,
		}, &rep.Timings)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			log.Error("clip failed", "clip", c.Name, "err", err)
			failed = append(failed, err)
		}
		rep.Clips = append(rep.Clips, res)
		args := []any{"clip", c.Name, "n", fmt.Sprintf("%d/%d", i+1, len(clips))}
		for _, sw := range res.Streamwatch {
			args = append(args, engineLabel(sw.Engine), fmt.Sprintf("%d/%d found, %d/%d alerts true", sw.Score.Found, len(res.Truth),
				sw.Score.TrueAlerts, sw.Score.Alerts))
		}
		log.Info("clip done", append(args, "baseline", baselineBrief(res.Baseline))...)
		if cfg.Verbose {
			writeClipDetails(cfg.Out, res)
		}
	}
	rep.Timings.WallSeconds = time.Since(began).Seconds()
	rep.summarize(clips)
	if err := rep.WriteTable(cfg.Out); err != nil {
		return rep, err
	}
	if cfg.JSON != "" {
		if err := rep.WriteJSON(cfg.JSON); err != nil {
			return rep, err
		}
	}
	if len(failed) > 0 {
		return rep, fmt.Errorf("%w: %d of %d: %w", ErrClipFailed, len(failed), len(clips), errors.Join(failed...))
	}
	return rep, nil
}

// check fills in cfg's defaults, checks that the required fields are set and
// the tools are on PATH, and returns the absolute path of the binary.
func (cfg *Config) check() (string, error) {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Languages == "" {
		cfg.Languages = "eng+chi_sim"
	}
	if cfg.BaselineWorkers <= 0 {
		cfg.BaselineWorkers = 2
	}
	if cfg.Corpus == "" || cfg.Bin == "" || cfg.Work == "" {
		return "", ErrConfig
	}
	bin, err := filepath.Abs(cfg.Bin)
	if err != nil {
		return "", fmt.Errorf("eval: streamwatch binary: %w", err)
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "", fmt.Errorf("eval: streamwatch binary: %w", err)
	}
	need := []string{"ffmpeg"}
	if !cfg.SkipBaseline {
		need = append(need, "tesseract")
	}
	for _, tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("eval: %w", err)
		}
	}
	return bin, nil
}

// selectClips loads the corpus and keeps the clips cfg.Only matches.
func selectClips(cfg Config) ([]clipgen.Clip, error) {
	clips, err := LoadCorpus(cfg.Corpus)
	if err != nil {
		return nil, err
	}
	if cfg.Only != nil {
		clips = slices.DeleteFunc(clips, func(c clipgen.Clip) bool { return !cfg.Only.MatchString(c.Name) })
	}
	if len(clips) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoClip, cfg.Corpus)
	}
	return clips, nil
}

// prepareCorpus generates into dir the clips whose spec changed and returns
// every clip's path; rep gets the generation's count and time.
func prepareCorpus(ctx context.Context, clips []clipgen.Clip, dir string, rep *Report, log *slog.Logger) ([]string, error) {
	t0 := time.Now()
	paths := make([]string, len(clips))
	generated := 0
	for i, c := range clips {
		p, gen, err := prepareClip(ctx, c, dir)
		if err != nil {
			return nil, err
		}
		paths[i] = p
		if gen {
			generated++
			log.Info("generated clip", "clip", c.Name, "path", p)
		}
	}
	rep.Timings.GenerateSeconds = time.Since(t0).Seconds()
	rep.ClipsGenerated = generated
	log.Info("corpus ready", "clips", len(clips), "generated", generated, "reused", len(clips)-generated,
		"seconds", round(rep.Timings.GenerateSeconds, 1))
	return paths, nil
}

type clipJob struct {
	clip    clipgen.Clip
	path    string
	dirs    map[string]string
	bin     string
	engines []string
	baseKey string
	naive   *NaiveMatcher
}

// evalClip runs both detectors on one clip and scores them. A failing side is
// reported in its Error and left out of the totals.
func evalClip(ctx context.Context, cfg Config, j clipJob, tm *Timings) (ClipResult, error) {
	res := ClipResult{Name: j.clip.Name, Category: j.clip.Category, HeldOut: j.clip.HeldOut}
	truth, err := readTruth(j.path)
	if err != nil {
		return res, err
	}
	res.DurationMS = truth.DurationMS
	res.Truth = TruthSegments(truth.Captions)
	for _, c := range truth.Captions {
		res.Captions = append(res.Captions, Evidence{AtMS: c.StartMS, Text: c.Text})
	}

	var errs []error
	for _, engine := range j.engines {
		t0 := time.Now()
		side, err := replayClip(ctx, j, engine, res.Truth, truth.DurationMS)
		tm.StreamwatchSeconds += time.Since(t0).Seconds()
		if err != nil {
			errs = append(errs, err)
		}
		res.Streamwatch = append(res.Streamwatch, side)
	}

	if cfg.SkipBaseline {
		return res, errors.Join(errs...)
	}
	t0 := time.Now()
	cachePath := filepath.Join(j.dirs["baseline"], j.clip.Name+".json")
	hash, err := specHash(j.clip)
	if err != nil {
		return res, err
	}
	key := j.baseKey + "; clip " + hash
	br, cached := baselineRun{}, false
	if !cfg.RerunBaseline {
		br, cached = loadBaseline(cachePath, key)
	}
	if !cached {
		br, err = runBaseline(ctx, j.path, filepath.Join(j.dirs["baseline"], j.clip.Name+".frames"), cfg.Languages, cfg.BaselineWorkers)
		if err == nil {
			br.Key = key
			err = saveBaseline(cachePath, br)
		}
	}
	tm.BaselineSeconds += time.Since(t0).Seconds()
	res.Baseline = &Side{CPUSeconds: br.CPUSeconds, Frames: len(br.Frames), Cached: cached, FrameTexts: br.Frames}
	if err != nil {
		res.Baseline.Error = err.Error()
		errs = append(errs, err)
		return res, errors.Join(errs...)
	}
	res.Baseline.Alerts = BaselineSegments(j.naive, br.Frames, BaselineGapMS)
	res.Baseline.Score = ScoreClip(res.Truth, res.Baseline.Alerts)
	return res, errors.Join(errs...)
}

// replayClip replays j's clip with engine ("" for the binary's default) and
// scores its counterfeit-offer alerts against truth.
func replayClip(ctx context.Context, j clipJob, engine string, truth []Segment, durationMS int64) (Side, error) {
	dir := j.dirs["streamwatch"]
	if engine != "" {
		dir = filepath.Join(dir, engine)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Side{Engine: engine, Error: err.Error()}, err
		}
	}
	sw, err := runStreamwatch(ctx, j.bin, engine, j.path, j.clip.Name,
		filepath.Join(dir, j.clip.Name+".jsonl"), filepath.Join(dir, j.clip.Name+".log"))
	side := Side{
		Engine:     engine,
		CPUSeconds: sw.cpu.Seconds(),
		// streamwatch samples at 0, 1, 2 … s of media time by default. (Its
		// debug log is no count: log lines can be lost while Tesseract
		// initialises, as it points stderr at /dev/null meanwhile.)
		Frames:     int((durationMS + 999) / 1000),
		FrameStats: sw.frames,
	}
	if err != nil {
		side.Error = err.Error()
		return side, err
	}
	side.Alerts = OfRule(sw.segments, RuleCounterfeitOffer)
	for _, s := range sw.segments {
		if s.Rule != RuleCounterfeitOffer {
			side.Other = append(side.Other, s)
		}
	}
	side.Score = ScoreClip(truth, side.Alerts)
	return side, nil
}

func baselineBrief(s *Side) string {
	switch {
	case s == nil:
		return "skipped"
	case s.Error != "":
		return "error"
	}
	brief := fmt.Sprintf("%d found, %d/%d alerts true", s.Score.Found, s.Score.TrueAlerts, s.Score.Alerts)
	if s.Cached {
		brief += " (cached)"
	}
	return brief
}
