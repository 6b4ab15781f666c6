// Package benchlive measures a streamwatch worker the way issue #12 does: N
// live RTMP streams of one clip, published in real time to nginx-rtmp on
// loopback, watched by ONE worker of a pool on a NATS server of its own. It
// reports the worker's CPU and memory, its frame drops, caption-to-alert
// latency and whether each caption gave exactly one alert; and, for make
// bench, streamwatch replay's CPU next to a naive ffmpeg + tesseract script.
package benchlive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/embednats"
	"github.com/streamwatch/streamwatch/internal/eval"
)

// ErrConfig is returned, wrapped, for a configuration the bench cannot run.
var ErrConfig = errors.New("benchlive: bad configuration")

// Config is one live bench run.
type Config struct {
	Bin     string // streamwatch binary
	Work    string // directory for the bench clip (kept) and each run's logs
	Clip    string // clip to publish, with its clipgen truth beside it; "" makes clipgen.BenchClip in Work
	Streams int    // streams published and given to the worker
	// Duration is how long the streams are published: 0 plays the clip once;
	// longer loops it (ffmpeg -stream_loop -1) and measures up to Duration.
	Duration time.Duration
	Stagger  time.Duration // between two publishers' starts
	Warmup   time.Duration // from the last publisher's start to the measured span
	Grace    time.Duration // after the last clip ends, for late alerts
	Rule     string        // the rule whose alerts are scored
	Every    time.Duration // between the RSS-over-time rows
	// WorkerArgs are added to the worker's command line.
	WorkerArgs []string
	Log        *slog.Logger
}

func (c *Config) check() error {
	switch {
	case c.Streams < 1:
		return fmt.Errorf("%w: streams %d, need at least 1", ErrConfig, c.Streams)
	case c.Bin == "":
		return fmt.Errorf("%w: no streamwatch binary", ErrConfig)
	case c.Stagger < 0 || c.Warmup < 0 || c.Grace < 0 || c.Duration < 0:
		return fmt.Errorf("%w: negative duration", ErrConfig)
	}
	if _, err := os.Stat(c.Bin); err != nil {
		return fmt.Errorf("%w: %w (make build makes it)", ErrConfig, err)
	}
	if c.Rule == "" {
		c.Rule = "counterfeit-offer"
	}
	if c.Every <= 0 {
		c.Every = time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// benchClip is the clip published and what its truth says of it.
type benchClip struct {
	path       string
	length     time.Duration
	captionAt  time.Duration // media time of the counterfeit caption's onset
	captionLen time.Duration
}

// prepareClip returns cfg.Clip, or the bench clip made (once) in cfg.Work.
func prepareClip(ctx context.Context, cfg Config) (benchClip, error) {
	path := cfg.Clip
	if path == "" {
		cfg.Log.Info("bench clip", "dir", cfg.Work, "note", "made once with ffmpeg (about a minute), then reused")
		p, made, err := eval.PrepareClip(ctx, clipgen.BenchClip(), cfg.Work)
		if err != nil {
			return benchClip{}, fmt.Errorf("benchlive: bench clip: %w", err)
		}
		cfg.Log.Info("bench clip ready", "path", p, "generated", made)
		path = p
	}
	t, err := eval.ReadTruth(path)
	if err != nil {
		return benchClip{}, fmt.Errorf("%w: clip %s needs its clipgen truth beside it: %w", ErrConfig, path, err)
	}
	for _, c := range t.Captions {
		if c.Counterfeit {
			return benchClip{path: path, length: ms(t.DurationMS), captionAt: ms(c.StartMS), captionLen: ms(c.EndMS - c.StartMS)}, nil
		}
	}
	return benchClip{}, fmt.Errorf("%w: clip %s has no counterfeit caption", ErrConfig, path)
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// Run runs the live bench and writes its report to out: the RSS rows as the
// run goes, then the per-stream table, the summary table and one JSON line.
// Every process it started is stopped before it returns, also when ctx ends.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	clip, err := prepareClip(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Before anything else runs: the machine's speed, for the figures.
	ref, err := measureDecodeRef(ctx, clip)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("machine speed", "decode_all_cpu_s_per_min", ref.AllPerMin, "decode_keyframes_cpu_s_per_min", ref.KeyPerMin)
	dir, err := os.MkdirTemp(cfg.Work, "run-"+time.Now().Format("20060102-150405")+"-")
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	cfg.Log.Info("run directory (logs)", "dir", dir)
	r := &run{cfg: cfg, clip: clip, ref: ref, dir: dir, out: out, group: &procGroup{log: cfg.Log}, coll: newCollector()}
	srv, err := embednats.Start(filepath.Join(dir, "nats"), 0)
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	defer func() {
		r.group.stopAll(stopGrace) // the worker first, while NATS is there
		srv.Shutdown()
		srv.WaitForShutdown()
		// The store (alerts, evidence) is of no use after the run; the logs stay.
		if err := os.RemoveAll(filepath.Join(dir, "nats")); err != nil {
			cfg.Log.Warn("NATS store not removed", "err", err)
		}
	}()
	nc, err := nats.Connect(srv.ClientURL(), nats.Name("streamwatch-bench"))
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	defer nc.Close()
	if err := r.coll.subscribe(nc); err != nil {
		return nil, err
	}
	return r.run(ctx, nc, srv.ClientURL())
}
