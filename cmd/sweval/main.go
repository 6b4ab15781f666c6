// Command sweval measures streamwatch's detection on a corpus of generated clips
// with known captions, next to a scripted whole-frame Tesseract baseline.
//
//	go build -o bin/streamwatch ./cmd/streamwatch
//	go run ./cmd/sweval -corpus testdata/eval/corpus.json -bin bin/streamwatch -work /tmp/streamwatch-eval
//
// It prints a table per category, per set (tuned on, held out) and overall,
// with a column group per OCR engine (-engines); -v adds, per clip, every alert, miss
// and false alarm with the text behind it. Exit status: 0 when every clip was
// evaluated (whatever the scores), 1 when the harness or a detector failed, 2 on
// a bad command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/streamwatch/streamwatch/internal/eval"
)

func main() {
	var cfg eval.Config
	flag.StringVar(&cfg.Corpus, "corpus", "testdata/eval/corpus.json", "JSON `file` listing the clips (clipgen.Clip with category)")
	flag.StringVar(&cfg.Bin, "bin", "bin/streamwatch", "streamwatch `binary` to evaluate")
	flag.StringVar(&cfg.Work, "work", "/tmp/streamwatch-eval", "`dir` for clips, records, logs and cached baseline results")
	only := flag.String("only", "", "evaluate only clips whose names match this `regexp`")
	engines := flag.String("engines", "", "comma-separated OCR `engines` to replay each clip with (--ocr-engine), side by side; default every engine the binary's replay --help names, or its own when it has no --ocr-engine")
	flag.BoolVar(&cfg.SkipBaseline, "skip-baseline", false, "leave out the whole-frame Tesseract baseline")
	flag.BoolVar(&cfg.RerunBaseline, "rerun-baseline", false, "run the baseline again even where a cached result exists")
	flag.StringVar(&cfg.Languages, "languages", "eng+chi_sim", "Tesseract `langs` of the baseline")
	flag.IntVar(&cfg.BaselineWorkers, "baseline-workers", 2, "tesseract processes the baseline runs at once")
	flag.BoolVar(&cfg.Verbose, "v", false, "print per-clip details: alerts, misses, false alarms and their text")
	flag.StringVar(&cfg.JSON, "json", "", "also write the report as JSON to `file`")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sweval: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sweval: -only: %v\n", err)
			os.Exit(2)
		}
		cfg.Only = re
	}
	for _, e := range strings.Split(*engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Engines = append(cfg.Engines, e)
		}
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	_, err := eval.Run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sweval: %v\n", err)
		os.Exit(1)
	}
}
