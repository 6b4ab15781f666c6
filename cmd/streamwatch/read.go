package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/monitor"
)

// readRefused are the flags of the shared set that make no sense for read,
// which publishes nothing: given on the command line, they are refused
// rather than ignored (from the environment or --config, which watch and
// replay share, they are ignored).
var readRefused = []string{"out", "metrics-addr", "pprof", "nats", "nats-creds", "nats-nkey", "nats-ca",
	"nats-cert", "nats-key", "evidence-dir", "outbox-dir", "outbox-max",
	"alerts-max-age", "alerts-max-bytes", "evidence-max-age", "evidence-max-mb"}

// cmdRead runs "read FILE|URL": the replay (or watch) pipeline with nothing
// published, printing what was read and matched at each sampled frame as a
// JSON line on out, and with --frames-dir each frame as an annotated JPEG.
func cmdRead(ctx context.Context, args []string, out io.Writer) (err error) {
	fs, c := commandFlags("read", "")
	c.registerSourceFlags(fs)
	framesDir := fs.String("frames-dir", "", "write each sampled frame, its lines' boxes and readings drawn, as a JPEG into this directory (created if missing)")
	fs.Usage = func() { readUsage(fs) }
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	defer func() { err = c.failure(err) }()
	if len(pos) != 1 {
		return usageError{fmt.Errorf("read takes one FILE or URL, got %d arguments", len(pos))}
	}
	if name := refusedFlag(args); name != "" {
		return usageError{fmt.Errorf("--%s has no use in read, which publishes nothing", name)}
	}
	if err := c.validate(); err != nil {
		return err
	}
	src := pos[0]
	id, err := c.streamIDFor(src)
	if err != nil {
		return err
	}
	if *framesDir != "" {
		if err := os.MkdirAll(*framesDir, 0o755); err != nil {
			return fmt.Errorf("--frames-dir: %w", err)
		}
	}
	c.inspect = true
	w, err := wire(ctx, c, true)
	if err != nil {
		return err
	}
	defer w.close()
	// A file is read as replay reads it (every sampled frame, deterministic);
	// a URL as watch does.
	_, local := ingest.LocalPath(src)
	if strings.Contains(src, "://") && !strings.HasPrefix(src, "file://") {
		local = false
	}
	o := w.monitorOptions(src, id, c.channel, local, false)
	o.Sink, o.Evidence, o.Status = alerts.Multi{}, nil, nil
	bw := bufio.NewWriter(out)
	p := &readPrinter{enc: json.NewEncoder(bw), flush: bw.Flush, dir: *framesDir}
	p.enc.SetEscapeHTML(false)
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	o.Inspect = func(in monitor.Inspection) {
		if err := p.print(in); err != nil {
			cancel(err)
		}
	}
	err = monitor.Run(rctx, o)
	if cause := context.Cause(rctx); cause != nil && ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // interrupted by a signal: a normal stop, what was read is printed
	}
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	if err != nil && errors.Is(err, ingest.ErrOriginRefused) {
		err = fmt.Errorf("%w (--allow-source-origin allows another origin)", err)
	}
	return err
}

// readUsage prints read's flags, without those it refuses.
func readUsage(fs *flag.FlagSet) {
	shown := flag.NewFlagSet("read", flag.ContinueOnError)
	shown.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(readRefused, f.Name) {
			shown.Var(f.Value, f.Name, f.Usage)
		}
	})
	fmt.Fprintln(fs.Output(), "Usage: streamwatch read FILE|URL [flags]")
	shown.PrintDefaults()
}

// refusedFlag returns the first flag of readRefused in args, or "".
func refusedFlag(args []string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if slices.Contains(readRefused, name) {
			return name
		}
	}
	return ""
}

// framePath is where --frames-dir keeps the frame sampled at mediaMS.
func framePath(dir string, seq, mediaMS int64) string {
	return filepath.Join(dir, fmt.Sprintf("frame-%06d-%dms.jpg", seq, mediaMS))
}

// readPrinter writes the FrameReport of each inspected frame as a JSON line,
// and with a dir its annotated JPEG.
type readPrinter struct {
	enc   *json.Encoder
	flush func() error
	dir   string
}

func (p *readPrinter) print(in monitor.Inspection) error {
	r := in.Report()
	if p.dir != "" {
		data, err := in.JPEG()
		if err != nil {
			return err //nolint:wrapcheck // names the frame
		}
		r.Frame = framePath(p.dir, in.Frame.Seq, in.Frame.MediaMS)
		if err := os.WriteFile(r.Frame, data, 0o644); err != nil {
			return fmt.Errorf("--frames-dir: %w", err)
		}
	}
	if err := p.enc.Encode(r); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	// A line per frame as it comes: read is followed as it runs.
	if err := p.flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
