// Command swbench runs streamwatch's benchmarks of issue #12.
//
//	swbench live  -n 40 [-duration 20m] [-clip FILE] -bin bin/streamwatch -work /tmp/streamwatch-bench
//	swbench ratio [-runs 3] [-clip FILE] -bin bin/streamwatch -work /tmp/streamwatch-bench
//
// live publishes N streams of the bench clip in real time to nginx-rtmp on
// loopback, hands them to ONE streamwatch worker of a pool on an embedded NATS
// server, and prints the worker's CPU, memory, frame drops, caption-to-alert
// latency and captions alerted exactly once: a table and one JSON line
// (prefix BENCH_LIVE_JSON). ratio prints the CPU-s per stream-minute of
// streamwatch replay on the clip next to a naive ffmpeg fps=1 + tesseract
// script, median of -runs runs each, and their ratio (prefix BENCH_RATIO_JSON).
//
// Exit status: 0 when the run completed (whatever it measured), 1 when the
// harness failed or was interrupted, 2 on a bad command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/streamwatch/streamwatch/internal/benchlive"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: swbench live|ratio [flags] (-h for the flags)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch os.Args[1] {
	case "live":
		err = live(ctx, os.Args[2:])
	case "ratio":
		err = ratio(ctx, os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "swbench: unknown command %q (live, ratio)\n", os.Args[1])
		stop()
		os.Exit(2)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "swbench: %v\n", err)
		os.Exit(1)
	}
}

func logger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func live(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swbench live", flag.ExitOnError)
	var cfg benchlive.Config
	fs.IntVar(&cfg.Streams, "n", 40, "streams to publish and watch")
	fs.DurationVar(&cfg.Duration, "duration", 0, "publish this long, looping the clip; 0 plays it once")
	fs.StringVar(&cfg.Clip, "clip", "", "clip `file` with its clipgen truth beside it (default: the bench clip, made in -work)")
	fs.StringVar(&cfg.Bin, "bin", "bin/streamwatch", "streamwatch `binary`")
	fs.StringVar(&cfg.Work, "work", "/tmp/streamwatch-bench", "`dir` for the bench clip and each run's logs")
	fs.DurationVar(&cfg.Stagger, "stagger", 100*time.Millisecond, "between two publishers' starts")
	fs.DurationVar(&cfg.Warmup, "warmup", 10*time.Second, "from the last publisher's start to the measured span")
	fs.DurationVar(&cfg.Grace, "grace", time.Minute, "after the last clip ends, for late alerts (a clip played once: the run ends sooner once every stream's alerts are closed)")
	fs.DurationVar(&cfg.Every, "every", time.Minute, "between two RSS rows")
	fs.StringVar(&cfg.Rule, "rule", "counterfeit-offer", "the rule whose alerts are scored")
	workerArgs := fs.String("worker-args", "", "extra worker flags, space-separated (e.g. \"--sample-interval 2s\")")
	verbose := fs.Bool("v", false, "log the harness's debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "swbench live: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	cfg.WorkerArgs = strings.Fields(*workerArgs)
	cfg.Log = logger(*verbose)
	_, err := benchlive.Run(ctx, cfg, os.Stdout)
	return err
}

func ratio(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swbench ratio", flag.ExitOnError)
	var cfg benchlive.RatioConfig
	fs.IntVar(&cfg.Runs, "runs", 3, "runs of each pipeline; the medians are compared")
	fs.StringVar(&cfg.Clip, "clip", "", "clip `file` with its clipgen truth beside it (default: the bench clip, made in -work)")
	fs.StringVar(&cfg.Bin, "bin", "bin/streamwatch", "streamwatch `binary`")
	fs.StringVar(&cfg.Work, "work", "/tmp/streamwatch-bench", "`dir` for the bench clip and scratch files")
	fs.StringVar(&cfg.Languages, "languages", "eng+chi_sim", "Tesseract `langs` of the naive pipeline (make eval's baseline reads these)")
	fs.IntVar(&cfg.Workers, "workers", 2, "tesseract processes the naive pipeline runs at once")
	fs.StringVar(&cfg.Rule, "rule", "counterfeit-offer", "the rule whose alerts are counted")
	verbose := fs.Bool("v", false, "log the harness's debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "swbench ratio: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	cfg.Log = logger(*verbose)
	_, err := benchlive.Ratio(ctx, cfg, os.Stdout)
	return err
}
