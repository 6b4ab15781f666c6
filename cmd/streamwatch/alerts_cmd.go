package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/term"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
)

// alertsOptions are the flags of "streamwatch alerts".
type alertsOptions struct {
	nats     natsFlags
	stream   string
	severity match.Severity // the least shown; "" shows every record
	since    time.Duration
	follow   bool
	format   string
	evidence string
}

// cmdAlerts prints the alert records stored in JetStream, oldest first, and
// with --follow keeps printing new ones until ctx ends.
func cmdAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		o        alertsOptions
		severity string
	)
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	o.nats.register(fs)
	fs.StringVar(&o.stream, "stream", "", "show only this stream id; default: every stream")
	fs.StringVar(&severity, "severity", "", "least severity shown: low, medium or high; default: every record")
	fs.DurationVar(&o.since, "since", 0, "show records stored within this duration before now; default 0: every record stored")
	fs.BoolVar(&o.follow, "follow", false, "keep printing new records until interrupted; default: exit once every stored record is printed")
	fs.StringVar(&o.format, "format", "auto", "table, json (each record as stored, one per line) or auto (table on a terminal, else json)")
	fs.StringVar(&o.evidence, "evidence", "", "save the evidence images of the records shown into this directory, named by their keys")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("alerts takes no arguments, got %s", echo.Quote(pos[0]))}
	}
	if o.stream != "" {
		if err := alerts.ValidateStreamID(o.stream); err != nil {
			return usageError{fmt.Errorf("--stream: %w", err)}
		}
	}
	if severity != "" {
		if o.severity, err = match.ParseSeverity(severity); err != nil {
			return usageError{fmt.Errorf("--severity %s: want low, medium or high", echo.Quote(severity))}
		}
	}
	if o.since < 0 {
		return usageError{fmt.Errorf("--since must not be negative, got %s", o.since)}
	}
	switch o.format {
	case "auto":
		o.format = "json"
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			o.format = "table"
		}
	case "table", "json":
	default:
		return usageError{fmt.Errorf("--format %s: want table, json or auto", echo.Quote(o.format))}
	}
	url := o.nats.serverURL()
	if url == "" {
		return usageError{errors.New("no NATS server: use --nats or NATS_URL")}
	}
	var root *os.Root
	if o.evidence != "" {
		if err := os.MkdirAll(o.evidence, 0o755); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
		if root, err = os.OpenRoot(o.evidence); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
		defer root.Close()
	}

	opts := []nats.Option{nats.Name("streamwatch alerts")}
	if o.follow {
		opts = append(opts, nats.MaxReconnects(-1))
	}
	nc, err := o.nats.connect(url, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	r := &alertsReader{
		o: o, js: js, root: root, stderr: stderr, out: stdout,
		saved: map[string]bool{},
	}
	if o.format == "table" {
		r.table = &table{w: stdout, width: termWidth(stdout),
			header: []string{"TIME (UTC)", "STREAM", "STATE", "SEVERITY", "RULE", "BRANDS", "PHRASES", "MEDIA", "TEXT"}}
	}
	err = r.run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted: the normal end of --follow
	}
	return err
}

// alertView is what the command reads from a record; the record itself is
// printed as stored.
type alertView = alerts.Record

type alertsReader struct {
	o      alertsOptions
	js     jetstream.JetStream
	root   *os.Root // --evidence, or nil
	obs    jetstream.ObjectStore
	stderr io.Writer
	out    io.Writer
	table  *table // nil for json
	saved  map[string]bool
}

func (r *alertsReader) warn(format string, args ...any) {
	fmt.Fprintf(r.stderr, "streamwatch: warning: "+format+"\n", args...)
}

func (r *alertsReader) run(ctx context.Context) error {
	stream, err := r.stream(ctx)
	if err != nil || stream == nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if r.o.stream != "" {
		cfg.FilterSubjects = []string{alerts.SubjectPrefix + r.o.stream}
	}
	if r.o.since > 0 {
		start := time.Now().Add(-r.o.since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	rr, err := alerts.ReadRecords(ctx, stream, cfg)
	if err != nil {
		return err
	}
	cons, it := rr.Consumer, rr.Messages
	defer it.Stop()
	caughtUp := rr.Empty
	for {
		if caughtUp {
			if err := r.flush(); err != nil {
				return err
			}
			if !r.o.follow {
				return nil
			}
		}
		nctx, cancel := ctx, context.CancelFunc(func() {})
		if !r.o.follow {
			// A record that expires between the count and its delivery
			// would leave us waiting: ask again after a quiet spell.
			nctx, cancel = context.WithTimeout(ctx, 3*time.Second)
		}
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("alerts: consumer info: %w", err)
			}
			caughtUp = info.NumPending == 0
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				_ = r.flush()
				return ctx.Err()
			}
			return fmt.Errorf("alerts: read %s: %w", alerts.StreamName, err)
		}
		if err := r.handle(ctx, msg); err != nil {
			return err
		}
		meta, err := msg.Metadata()
		caughtUp = err == nil && meta.NumPending == 0
	}
}

// stream returns the alert stream, or nil when it does not exist yet and
// there is nothing to wait for. With --follow it waits for the stream.
func (r *alertsReader) stream(ctx context.Context) (jetstream.Stream, error) {
	warned := false
	for {
		s, err := r.js.Stream(ctx, alerts.StreamName)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("alerts: stream %s: %w", alerts.StreamName, err)
		}
		if !r.o.follow {
			r.warn("no alert stored yet: no stream %s on the server", alerts.StreamName)
			return nil, r.flush()
		}
		if !warned {
			r.warn("no stream %s yet: waiting for the first alert", alerts.StreamName)
			if err := r.flush(); err != nil {
				return nil, err
			}
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (r *alertsReader) flush() error {
	if r.table == nil {
		return nil
	}
	return r.table.flush()
}

// handle prints one stored message if it passes the filters and saves its
// evidence.
func (r *alertsReader) handle(ctx context.Context, msg jetstream.Msg) error {
	data := msg.Data()
	var v alertView
	if err := json.Unmarshal(data, &v); err != nil {
		r.warn("skipping a message on %s that is not an alert record: %v", msg.Subject(), err)
		return nil
	}
	if r.o.severity != "" && v.Severity.Rank() < r.o.severity.Rank() {
		return nil
	}
	if r.table != nil {
		r.table.add(tableRow(v))
		if r.o.follow && r.table.printed {
			if err := r.table.flush(); err != nil {
				return err
			}
		}
	} else {
		if bytes.ContainsAny(data, "\r\n") { // one record, one line
			var b bytes.Buffer
			if err := json.Compact(&b, data); err != nil {
				return fmt.Errorf("alerts: compact record: %w", err)
			}
			data = b.Bytes()
		}
		if _, err := r.out.Write(append(bytes.Clone(data), '\n')); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if r.root == nil {
		return nil
	}
	keys := []string{v.EvidenceFrame}
	for _, e := range v.Evidence {
		keys = append(keys, e.Crop)
	}
	for _, k := range keys {
		if k == "" || r.saved[k] {
			continue
		}
		r.saved[k] = true // once a run: later records of an alert repeat their keys
		if err := r.save(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// save copies the object key into the evidence directory as file key. Only
// local write errors fail the command; a missing object is a warning.
func (r *alertsReader) save(ctx context.Context, key string) error {
	name := filepath.FromSlash(key)
	if !filepath.IsLocal(name) || strings.ContainsAny(key, "\\\x00") {
		r.warn("evidence %q: not a relative file name, not saved", key)
		return nil
	}
	if r.obs == nil {
		obs, err := r.js.ObjectStore(ctx, alerts.EvidenceBucket)
		if err != nil {
			r.warn("evidence %s: object store %s: %v", key, alerts.EvidenceBucket, err)
			return nil
		}
		r.obs = obs
	}
	obj, err := r.obs.Get(ctx, key)
	if err != nil {
		r.warn("evidence %s: %v", key, err)
		return nil
	}
	defer obj.Close()
	if dir := filepath.Dir(name); dir != "." {
		if err := r.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	tmp := name + ".part"
	f, err := r.root.Create(tmp)
	if err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	_, err = io.Copy(f, obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = r.root.Remove(tmp)
		var pe *os.PathError
		if errors.As(err, &pe) { // our side failed
			return fmt.Errorf("--evidence: %w", err)
		}
		r.warn("evidence %s: %v", key, err)
		return nil
	}
	if err := r.root.Rename(tmp, name); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	return nil
}
