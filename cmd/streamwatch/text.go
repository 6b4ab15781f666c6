package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/ocr"
)

// cmdMatch reads text lines on in and writes one JSON result per line.
func cmdMatch(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	rules := fs.String("rules", "", "rules file (YAML); default: the rules built into the binary")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("match reads text lines on stdin and takes no arguments, got %q", pos[0])}
	}
	c := common{rules: *rules}
	r, err := c.loadRules()
	if err != nil {
		return err
	}
	m := match.NewMatcher(r)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := enc.Encode(m.Match(sc.Text())); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return w.Flush()
}

// cmdRules runs "rules check FILE".
func cmdRules(args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "push" {
		return cmdRulesPush(args[1:], out)
	}
	if len(args) != 2 || args[0] != "check" {
		return usageError{fmt.Errorf("usage: streamwatch rules check FILE | rules push FILE --nats URL")}
	}
	r, err := match.LoadRules(args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok: %s\n", args[1], r.Summary())
	return nil
}

func cmdVersion(out io.Writer) error {
	fmt.Fprintf(out, "streamwatch %s (%s, tesseract %s)\n", version, runtime.Version(), ocr.Version())
	return nil
}
