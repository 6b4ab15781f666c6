// Command clipgen writes test clips with burned-in captions and their ground truth.
//
//	go run ./testdata/clipgen -demo -out testdata/demo.mp4
//	go run ./testdata/clipgen -spec testdata/clipgen/examples.json -out testdata/out
//
// With -spec, FILE is a JSON list of clipgen.Clip and each clip is written to
// DIR/NAME.mp4 with DIR/NAME.truth.json beside it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

func main() {
	demo := flag.Bool("demo", false, "write the demo clip (clipgen.DemoClip) to -out")
	spec := flag.String("spec", "", "JSON `file` with a list of clips to write into the directory -out")
	out := flag.String("out", "", "output file (-demo; default testdata/demo.mp4) or directory (-spec; default testdata/out)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, *demo, *spec, *out, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func run(ctx context.Context, demo bool, spec, out string, log *slog.Logger) error {
	var clips []clipgen.Clip
	var paths []string
	switch {
	case demo == (spec != ""):
		return errors.New("give exactly one of -demo and -spec")
	case demo:
		if out == "" {
			out = "testdata/demo.mp4"
		}
		clips, paths = []clipgen.Clip{clipgen.DemoClip()}, []string{out}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
	default:
		if out == "" {
			out = "testdata/out"
		}
		data, err := os.ReadFile(spec)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &clips); err != nil {
			return fmt.Errorf("parse %s: %w", spec, err)
		}
		for _, c := range clips {
			if !nameRE.MatchString(c.Name) {
				return fmt.Errorf("%s: clip name %q is not a plain file name", spec, c.Name)
			}
			paths = append(paths, filepath.Join(out, c.Name+".mp4"))
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
	}
	for i, c := range clips {
		t, err := clipgen.Generate(ctx, c, paths[i])
		if err != nil {
			return err
		}
		st, err := os.Stat(paths[i])
		if err != nil {
			return err
		}
		log.Info("wrote clip", "path", paths[i], "truth", clipgen.TruthPath(paths[i]),
			"bytes", st.Size(), "duration_ms", t.DurationMS, "captions", len(t.Captions))
	}
	return nil
}
