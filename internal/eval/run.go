package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// childEnv is the environment of every child: one OpenMP thread per Tesseract
// (the callers parallelise themselves), and no NATS, so a replay publishes nothing.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NATS_URL=") || strings.HasPrefix(kv, "STREAMWATCH_NATS=") ||
			strings.HasPrefix(kv, "OMP_THREAD_LIMIT=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OMP_THREAD_LIMIT=1")
}

// cpuOf returns the user plus system CPU time of a finished child.
func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// runChild runs cmd, with stdout into stdout when not nil, and returns its CPU
// time. A failure's error ends with the last lines the child wrote to stderr.
func runChild(ctx context.Context, cmd *exec.Cmd) (time.Duration, error) {
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	cmd.Env = childEnv()
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	cpu := cpuOf(cmd)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return cpu, ctxErr
		}
		return cpu, fmt.Errorf("%s: %w%s", cmd.Path, err, lastLines(stderr.String(), 6))
	}
	return cpu, nil
}

// lastLines returns the last n non-empty lines of s as ": l1; l2", or "".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return ": " + strings.Join(lines[max(0, len(lines)-n):], "; ")
}

// streamwatchRun is what one replay of a clip gave.
type streamwatchRun struct {
	segments []Segment // every alert, of every rule
	frames   []FrameStat
	cpu      time.Duration
}

// FrameStat is what streamwatch's debug log says of one sampled frame: how many
// text lines it read and how many rule hits they gave. It tells a detector that
// found no line from one that misread a line.
type FrameStat struct {
	AtMS  int64 `json:"at_ms"`
	Lines int   `json:"lines"`
	Hits  int   `json:"hits"`
}

// parseFrameLog picks the monitor's "frame" records out of a JSON log. Anything
// else, and a log format it does not know, gives nothing: the figures are a
// debugging aid, not part of the score.
func parseFrameLog(data []byte) []FrameStat {
	var out []FrameStat
	for _, l := range bytes.Split(data, []byte("\n")) {
		if !bytes.Contains(l, []byte(`"msg":"frame"`)) {
			continue
		}
		var rec struct {
			Msg     string `json:"msg"`
			MediaMS *int64 `json:"media_ms"`
			Lines   int    `json:"lines"`
			Hits    int    `json:"hits"`
		}
		if json.Unmarshal(l, &rec) != nil || rec.Msg != "frame" || rec.MediaMS == nil {
			continue
		}
		out = append(out, FrameStat{AtMS: *rec.MediaMS, Lines: rec.Lines, Hits: rec.Hits})
	}
	return out
}

// runStreamwatch replays clipPath with the streamwatch binary bin, with its
// default settings but for --ocr-engine engine (left out when ""), writing
// records to outPath and its log to logPath. The log is at debug level, as
// JSON, for the per-frame line counts in it.
func runStreamwatch(ctx context.Context, bin, engine, clipPath, streamID, outPath, logPath string) (streamwatchRun, error) {
	// --out appends: a previous run's records must not count again.
	if err := os.Remove(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return streamwatchRun{}, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return streamwatchRun{}, err
	}
	defer logFile.Close()
	args := []string{"replay", clipPath, "--out", outPath, "--stream-id", streamID,
		"--log-level", "debug", "--log-format", "json"}
	if engine != "" {
		args = append(args, "--ocr-engine", engine)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = logFile
	cpu, err := runChild(ctx, cmd)
	logFile.Close()
	logData, _ := os.ReadFile(logPath)
	run := streamwatchRun{cpu: cpu, frames: parseFrameLog(logData)}
	if err != nil {
		return run, fmt.Errorf("streamwatch replay %s: %w%s (log %s)", clipPath, err, lastLines(string(logData), 4), logPath)
	}
	f, err := os.Open(outPath)
	if errors.Is(err, os.ErrNotExist) {
		return run, nil // no alert at all
	}
	if err != nil {
		return run, err
	}
	defer f.Close()
	run.segments, err = ParseRecords(f)
	if err != nil {
		return run, fmt.Errorf("%s: %w", outPath, err)
	}
	return run, nil
}
