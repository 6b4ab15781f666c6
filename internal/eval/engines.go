package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// ErrEngine is returned, wrapped, for engines the binary cannot be asked for.
var ErrEngine = errors.New("eval: engine not supported")

// knownEngines are the values of streamwatch's --ocr-engine, in the order the
// report shows them.
var knownEngines = []string{"tesseract", "ppocr", "auto"}

// resolveEngines returns the engines to replay with: want, checked against what
// bin's replay --help offers, or, when want is empty, all of those. A binary
// without --ocr-engine gives one engine, "", its own.
func resolveEngines(ctx context.Context, bin string, want []string) ([]string, error) {
	usage, err := ReplayUsage(ctx, bin)
	if err != nil {
		return nil, err
	}
	have, hasFlag := parseEngines(usage)
	if len(want) == 0 {
		if !hasFlag || len(have) == 0 {
			return []string{""}, nil
		}
		return have, nil
	}
	if !hasFlag {
		return nil, fmt.Errorf("%w: %s has no --ocr-engine; leave -engines out to use its own", ErrEngine, bin)
	}
	for _, e := range want {
		if !slices.Contains(have, e) {
			return nil, fmt.Errorf("%w: %q (%s offers %s)", ErrEngine, e, bin, strings.Join(have, ", "))
		}
	}
	return want, nil
}

// ReplayUsage returns what `bin replay --help` prints: which flags the
// binary's replay has.
func ReplayUsage(ctx context.Context, bin string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "replay", "--help")
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Go's flag package exits 0 or 2 after printing the usage: the text is what counts.
	if err := cmd.Run(); ctx.Err() != nil {
		return "", ctx.Err()
	} else if _, isExit := errors.AsType[*exec.ExitError](err); err != nil && !isExit {
		return "", fmt.Errorf("eval: %s replay --help: %w", bin, err)
	}
	return out.String(), nil
}

// ocrEngineFlag finds the --ocr-engine entry of Go flag usage text: its
// "  -ocr-engine value" line and the indented description after it.
var ocrEngineFlag = regexp.MustCompile(`(?m)^\s+--?ocr-engine\b.*\n((?:\s{4,}.*\n?)*)`)

// parseEngines returns the known engines named in the description of
// --ocr-engine in usage text, in knownEngines order, and whether the flag is there.
func parseEngines(usage string) ([]string, bool) {
	m := ocrEngineFlag.FindStringSubmatch(usage)
	if m == nil {
		return nil, false
	}
	words := regexp.MustCompile(`[a-z]+`).FindAllString(m[1], -1)
	var out []string
	for _, e := range knownEngines {
		if slices.Contains(words, e) {
			out = append(out, e)
		}
	}
	return out, true
}

// engineLabel names an engine's columns: the engine, or "sw" for the binary's own.
func engineLabel(engine string) string {
	if engine == "" {
		return "sw"
	}
	return engine
}

func engineLabels(engines []string) []string {
	out := make([]string, len(engines))
	for i, e := range engines {
		out[i] = engineLabel(e)
	}
	return out
}
