package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/monitor"
	"github.com/streamwatch/streamwatch/report"
)

// replayRun is what replay keeps beside its monitors: the report.Run of its
// files (progress, summary, alerts) and the file its HTML report goes to.
type replayRun struct {
	run  *report.Run
	path string   // --report; empty: no report
	tmp  *os.File // where the report is written before it takes path's place
}

// newReplayRun prepares the run of srcs: the progress line when stderr is a
// terminal (the logs then go through it) and the log is text (a JSON log
// keeps every line JSON), and the report file, created now so that a
// --report that cannot be written fails before the replay.
func newReplayRun(c *common, srcs []string, reportPath string) (*replayRun, error) {
	rr := &replayRun{run: report.NewRun(srcs), path: reportPath}
	if fd := int(os.Stderr.Fd()); c.logFormat != "json" && term.IsTerminal(fd) {
		width, _, err := term.GetSize(fd)
		if err != nil {
			width = 0 // unknown: the line is not cut
		}
		rr.run.Line = report.NewLine(os.Stderr, width)
		c.stderr = rr.run.Line
	}
	if reportPath == "" {
		return rr, nil
	}
	rr.run.Collector.KeepImages = true
	tmp, err := os.CreateTemp(filepath.Dir(reportPath), "."+filepath.Base(reportPath)+".*")
	if err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	rr.tmp = tmp
	return rr, nil
}

// describe records how the run was made, for the report's chain of custody.
func (rr *replayRun) describe(c *common, w *wiring, srcs []string) error {
	rr.run.Tool = report.Tool{Version: versionLine(), Command: "streamwatch replay " + strings.Join(srcs, " ")}
	c.fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		if f.Name == "nats" {
			v = ingest.Redact(v)
		}
		rr.run.Tool.Flags = append(rr.run.Tool.Flags, "--"+f.Name+"="+v)
	})
	src, data := "built-in", match.DefaultRulesYAML()
	if c.rules != "" {
		var err error
		if data, err = os.ReadFile(c.rules); err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
		src = c.rules
	}
	sum := sha256.Sum256(data)
	rr.run.Rules = report.Rules{Source: src, SHA256: hex.EncodeToString(sum[:]), Summary: w.rules.Summary()}
	rr.run.Matcher = w.matcher
	return nil
}

// begin starts file i: its stream id (from its content when id is empty)
// and, for the report, its size and SHA-256.
func (rr *replayRun) begin(ctx context.Context, i int, src, id string, w *wiring) (string, error) {
	var d digest
	if id == "" || rr.path != "" {
		derived, dg, err := recordingDigest(ctx, src, id == "", w.log)
		if err != nil {
			return "", err
		}
		if id == "" {
			id = derived
		}
		d = dg
	}
	size, sum := int64(-1), ""
	if d.regular {
		size, sum = d.size, hex.EncodeToString(d.sum[:])
	}
	rr.run.Begin(i, id, size, sum)
	return id, nil
}

// hook makes the monitor of file i tell the run its progress, its gaps and
// its records, and hand its evidence images to the report.
func (rr *replayRun) hook(i int, o *monitor.Options) {
	o.Progress = func(p monitor.Progress) {
		rr.run.Progress(i, p.MediaMS, p.Duration, report.Span{FromMS: p.Unwatched.FromMS, ToMS: p.Unwatched.ToMS})
	}
	status := o.Status
	o.Status = func(st ingest.Status) {
		if st.State == ingest.StateGap && st.Gap != nil {
			rr.run.Gap(i, report.Span{FromMS: st.Gap.FromMS, ToMS: st.Gap.ToMS})
		}
		if status != nil {
			status(st)
		}
	}
	o.Sink = append(alerts.Multi{o.Sink}, rr.run.Collector)
	if rr.run.Collector.KeepImages {
		rr.run.Collector.Next = o.Evidence
		o.Evidence = rr.run.Collector
	}
}

// finish ends the run: the report, then the summary per file, on stderr or
// as log entries.
func (rr *replayRun) finish(ctx context.Context, c *common, w *wiring) error {
	err := rr.writeReport()
	if err == nil && rr.path != "" {
		w.log.Info("report written", "component", "cmd", "file", rr.path)
	}
	if c.logFormat == "json" {
		rr.run.LogSummary(ctx, w.log)
	} else if serr := rr.run.WriteSummary(c.errOut()); err == nil {
		err = serr
	}
	return err
}

// writeReport writes the HTML report, if asked for, and puts it in place.
func (rr *replayRun) writeReport() error {
	if rr.tmp == nil {
		return nil
	}
	tmp := rr.tmp
	rr.tmp = nil
	err := rr.run.WriteHTML(tmp)
	if err == nil {
		err = tmp.Chmod(0o644) // like --out: a record to share, not a secret
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), rr.path)
	}
	if err != nil {
		if rerr := os.Remove(tmp.Name()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("--report: %w", err)
	}
	return nil
}

// discard removes the report's temporary file when the run ended before
// writing it.
func (rr *replayRun) discard() {
	if rr == nil || rr.tmp == nil {
		return
	}
	err := errors.Join(rr.tmp.Close(), os.Remove(rr.tmp.Name()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "streamwatch: report's temporary file not removed:", oneLine(err.Error()))
	}
}
