package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/internal/embednats"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/monitor"
)

// cmdWatch runs "watch URL": one live stream (or a file paced with
// --realtime) until it ends or the process is interrupted.
func cmdWatch(ctx context.Context, args []string) error {
	fs, c := commandFlags("watch", "localhost:9464")
	c.registerSourceFlags(fs)
	realtime := fs.Bool("realtime", false, "pace a file input at its frame rate, as if it were live")
	fs.StringVar(&c.consoleAddr, "console", "", "also serve the moderators' console on this loopback HOST:PORT (:0 for any free port); "+
		"it stays up after the stream ends, until interrupted; default: no console")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("watch takes one URL, got %d arguments", len(pos))}
	}
	err = runStreams(ctx, c, pos, nil, *realtime)
	if errors.Is(err, ingest.ErrOriginRefused) {
		err = fmt.Errorf("%w (--allow-source-origin allows another origin)", err)
	}
	return err
}

// cmdReplay runs "replay FILE...": recordings one after the other, as fast
// as the machine allows, with the same records on every run.
func cmdReplay(ctx context.Context, args []string) error {
	fs, c := commandFlags("replay", "")
	reportPath := fs.String("report", "", "write a self-contained HTML audit report of the run to this file (replaced if it exists)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{errors.New("replay takes one or more files")}
	}
	if len(pos) > 1 && c.streamID != "" {
		return usageError{errors.New("--stream-id goes with a single file")}
	}
	for _, p := range pos {
		if strings.Contains(p, "://") && !strings.HasPrefix(p, "file://") {
			return usageError{fmt.Errorf("replay reads recorded files, not %s (use watch)", echo.Short(ingest.Redact(p)))}
		}
	}
	rr, err := newReplayRun(c, pos, *reportPath)
	if err != nil {
		return c.failure(err)
	}
	defer rr.discard()
	return runStreams(ctx, c, pos, rr, false)
}

// runStreams wires the process for watch (one live URL; rr nil) and replay
// (files, one after the other, deterministic, followed by rr).
func runStreams(ctx context.Context, c *common, srcs []string, rr *replayRun, realtime bool) (err error) {
	defer func() { err = c.failure(err) }()
	replay := rr != nil
	if err := c.validate(); err != nil {
		return err
	}
	// A replayed recording's id comes from its content, read when its
	// turn comes; any other id from the flag or the URL, checked now.
	ids := make([]string, len(srcs))
	for i, s := range srcs {
		if replay && c.streamID == "" {
			continue
		}
		var err error
		if ids[i], err = c.streamIDFor(s); err != nil {
			return err
		}
	}
	c.warmOCR = c.warmOCR || !replay
	w, err := wire(ctx, c, replay)
	if err != nil {
		return err
	}
	defer w.close()
	if c.consoleAddr != "" {
		if w.nc == nil {
			return usageError{errors.New("--console needs NATS")}
		}
		if err := w.startConsole(); err != nil {
			return err
		}
	}
	if replay {
		if err := rr.describe(c, w, srcs); err != nil {
			return err
		}
	}
	return w.serve(ctx, !replay, nil, func(ctx context.Context) error {
		err := w.runAll(ctx, srcs, ids, rr, realtime)
		if replay {
			err = errors.Join(err, rr.finish(ctx, c, w))
		}
		return err
	})
}

// runAll runs the monitor of each source, one after the other.
func (w *wiring) runAll(ctx context.Context, srcs, ids []string, rr *replayRun, realtime bool) error {
	replay := rr != nil
	var failed []string
	var last error
	for i, src := range srcs {
		id := ids[i]
		var err error
		if replay {
			id, err = rr.begin(ctx, i, src, id, w)
		}
		if err == nil {
			o := w.monitorOptions(src, id, w.c.channel, replay, realtime)
			if replay {
				rr.hook(i, &o)
			}
			err = monitor.Run(ctx, o)
		}
		if replay {
			rr.run.End(i, err)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil || len(srcs) == 1 {
			return err
		}
		// One bad recording does not cost the batch the others: what
		// it gave before failing is published, and the next one runs.
		w.log.Error("replay failed", "component", "cmd", "file", ingest.Redact(src), "err", oneLine(err.Error()))
		failed = append(failed, ingest.Redact(src))
		last = err
	}
	switch len(failed) {
	case 0:
		w.keepConsole(ctx)
		return nil
	case 1:
		return last
	}
	return fmt.Errorf("%w: %d of %d files: %s", errReplayFailed, len(failed), len(srcs), strings.Join(failed, ", "))
}

// errReplayFailed reports the files of a batch that did not replay to their end.
var errReplayFailed = errors.New("replay failed")

// natsDrainTimeout bounds the drain of the NATS connection at exit.
const natsDrainTimeout = 5 * time.Second

// wiring is what a process that runs monitors shares among them: logger,
// rules, sinks, NATS, outbox, evidence store, OCR pool and metrics.
type wiring struct {
	c        *common
	log      *slog.Logger
	rules    *match.Rules
	matcher  match.Matcher
	live     *match.Live
	sinks    alerts.Multi
	natsURL  string
	nc       *nats.Conn
	js       jetstream.JetStream
	reg      *prometheus.Registry
	metrics  *monitor.Metrics
	evidence alerts.EvidenceStore
	outbox   *alerts.Outbox
	ocr      *readers
	sched    *lines.Scheduler   // the process's one line-reading scheduler, over ocr's engine
	decoders ingest.DecodeSlots // the process's bound on live sources decoding at once
	opens    *ingest.OpenGate   // admits the opens of every stream of the process, a few at once
	console  net.Listener       // watch --console, or nil
	closers  []func()
}

// close releases what wire opened, last opened first, and waits for each.
func (w *wiring) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// closed logs a failure to release what; at exit there is nothing else to do
// about it.
func (w *wiring) closed(what string, err error) {
	if err != nil && w.log != nil {
		w.log.Warn("not closed cleanly", "component", "cmd", "what", what, "err", err)
	}
}

// drainNATS drains nc (in-flight status messages go out, subscriptions
// end) and waits until it is closed: nats.go drains in a goroutine of its
// own, bounded by natsDrainTimeout.
func (w *wiring) drainNATS(nc *nats.Conn, closed <-chan struct{}) {
	if err := nc.Drain(); err != nil {
		// A connection that is reconnecting is closed at once instead.
		w.closed("NATS connection", err)
	}
	<-closed
}

// wire opens what the monitors of a process share. Without a NATS URL it
// starts an embedded server, unless noEmbedded.
func wire(ctx context.Context, c *common, noEmbedded bool) (_ *wiring, err error) {
	w := &wiring{c: c}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.log, err = c.logger(); err != nil {
		return nil, err
	}
	libavLevel := slog.LevelError // libav's warnings are mostly about stream quirks
	if c.logLevel == "debug" {
		libavLevel = slog.LevelDebug
	}
	ingest.RouteLibavLogs(w.log, libavLevel)
	if w.rules, err = c.loadRules(); err != nil {
		return nil, err
	}
	// The rules in force, swapped when the --rules file changes or on SIGHUP.
	w.matcher = match.NewMatcher(w.rules)
	w.live = match.NewLive(w.rules, w.matcher)

	w.reg = prometheus.NewRegistry()
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w.metrics = monitor.NewMetrics(w.reg)

	if !c.inspect {
		if err := w.openSinks(ctx, noEmbedded); err != nil {
			return nil, err
		}
	}
	rd, err := w.openEngine()
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { w.closed("OCR engine", rd.close()) })
	w.ocr = rd
	w.sched = lines.NewScheduler(rd.engine, lines.SchedulerOptions{})
	w.decoders = ingest.NewDecodeSlots(runtime.NumCPU())
	// An open mostly waits (the network, the first keyframe of a 2 s GOP):
	// one per CPU let 40 RTMP streams attach over 35 s in make bench-live.
	w.opens = ingest.NewOpenGate(opensPerCPU * runtime.NumCPU())
	w.closers = append(w.closers, w.sched.Close)
	return w, nil
}

// openSinks opens where the records of the process go: the terminal, --out,
// NATS (embedded unless noEmbedded or a URL is given), the outbox and the
// evidence store.
func (w *wiring) openSinks(ctx context.Context, noEmbedded bool) error {
	c := w.c
	if c.logFormat == "json" {
		w.sinks = alerts.Multi{alerts.LogPrinter{Log: w.log}}
	} else {
		w.sinks = alerts.Multi{&alerts.Printer{W: c.errOut()}}
	}
	if c.out != "" {
		f, err := os.OpenFile(c.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		w.closers = append(w.closers, func() { w.closed("--out file", f.Close()) })
		w.sinks = append(w.sinks, &alerts.JSONLines{W: f})
	}

	w.natsURL = c.nats.serverURL()
	if w.natsURL == "" {
		if f := c.nats.fileFlagGiven(); f != "" {
			// The embedded server wants no credentials: a file given for
			// another server must not be ignored quietly.
			return usageError{fmt.Errorf("--%s needs --nats URL (or $NATS_URL)", f)}
		}
	}
	embedded := false
	if w.natsURL == "" && !noEmbedded {
		embedded = true
		dir, err := os.MkdirTemp("", "streamwatch-nats-")
		if err != nil {
			return fmt.Errorf("embedded nats: %w", err)
		}
		w.closers = append(w.closers, func() { w.closed("embedded NATS directory", os.RemoveAll(dir)) })
		srv, err := embednats.Start(dir, 0)
		if err != nil {
			return err
		}
		w.closers = append(w.closers, func() { srv.Shutdown(); srv.WaitForShutdown() })
		w.natsURL = srv.ClientURL()
		w.announceEmbedded()
	}
	if c.evidenceDir != "" {
		w.evidence = alerts.DirStore{Dir: c.evidenceDir}
	}
	if w.natsURL != "" {
		// No reconnect buffer: while NATS is away a publish fails at once and
		// the record goes to the outbox on disk, not to memory.
		closed := make(chan struct{})
		nc, err := c.nats.connect(w.natsURL, nats.Name("streamwatch"), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1),
			nats.DrainTimeout(natsDrainTimeout), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err != nil {
			return err
		}
		w.closers = append(w.closers, func() { w.drainNATS(nc, closed) })
		w.nc = nc
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		w.js = js
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = alerts.EnsureStreamWith(cctx, js, alerts.StreamOptions{MaxAge: c.alertsMaxAge, MaxBytes: c.alertsMaxBytes})
		if err == nil && w.evidence == nil {
			w.evidence, err = alerts.EnsureEvidenceBucket(cctx, js, c.evidenceMaxAge, c.evidenceMaxMB<<20)
		}
		cancel()
		if err != nil {
			return err
		}
		// The server the records are meant for: an earlier run's leftovers
		// go only to the same one, and a throw-away embedded server takes none.
		server := alerts.OutboxServer{Name: nc.ConnectedServerName(), ID: nc.ConnectedServerId(),
			Cluster: nc.ConnectedClusterName(), URL: nc.ConnectedUrlRedacted(), Embedded: embedded}
		w.outbox, err = alerts.OpenOutbox(alerts.OutboxOptions{
			Dir: c.outboxDir, Server: server, MaxRecords: c.outboxMax, Logger: w.log,
			Dropped: w.metrics.Alerts.OutboxDropped, Waiting: w.metrics.Alerts.OutboxWaiting,
		}, &alerts.JetStreamSink{JS: js, Attempts: 1})
		if err != nil {
			return err
		}
		w.closers = append(w.closers, w.outbox.Close)
		w.sinks = append(w.sinks, w.outbox)
	}
	return nil
}

// announceEmbedded tells where the embedded NATS server listens: one line
// for people, or a log entry when the log is JSON.
func (w *wiring) announceEmbedded() {
	read := "nats sub --server " + w.natsURL + " 'streamwatch.alerts.>'"
	if w.c.logFormat == "json" {
		w.log.Info("embedded NATS with JetStream", "component", "cmd", "url", w.natsURL, "read_alerts_with", read)
		return
	}
	fmt.Fprintf(os.Stderr, "embedded NATS with JetStream at %s — read alerts with: %s\n", w.natsURL, read)
}

// opensPerCPU is how many sources per CPU may be opening at once.
const opensPerCPU = 4

// monitorOptions are the options of one stream's monitor.
func (w *wiring) monitorOptions(src, id, channel string, replay, realtime bool) monitor.Options {
	c := w.c
	var resume func(context.Context) (alerts.Resume, error)
	if w.js != nil && !replay {
		// A live stream watched before (by another worker, or this command
		// before a crash) continues its media time and open segments.
		resume = func(ctx context.Context) (alerts.Resume, error) { return alerts.Recover(ctx, w.js, id) }
	}
	return monitor.Options{
		URL:      src,
		StreamID: id,
		Channel:  channel,
		// A live source that takes longer than --stall-timeout to open or
		// to answer a read is reconnected, like one that sends no frames.
		Ingest: ingest.Options{Realtime: realtime, Logger: w.log, Decode: c.decode,
			OpenTimeout: c.stallTimeout, ReadTimeout: c.stallTimeout, AllowedOrigins: c.allowOrigins},
		SampleInterval: c.sampleInterval,
		Replay:         replay,
		Rules:          w.live,
		Engine:         w.ocr.engine,
		Propose:        w.ocr.propose(),
		Scheduler:      w.sched,
		DecodeSlots:    w.decoders,
		Sink:           w.sinks,
		Evidence:       w.evidence,
		Tracker:        alerts.TrackerOptions{Gap: c.gap, MinHits: c.minHits, MaxLength: c.maxSegment},
		Supervise:      ingest.SuperviseOptions{MaxBackoff: c.reconnectMax, StallTimeout: c.stallTimeout, Opens: w.opens},
		Status:         func(st ingest.Status) { publishStatus(w.nc, id, st, w.log) },
		Metrics:        w.metrics,
		Logger:         w.log,
		Resume:         resume,
	}
}

// publishStatus sends a stream's state change on its status subject (core NATS:
// status is for people watching now; a lost one is told again by the next).
func publishStatus(nc *nats.Conn, streamID string, st ingest.Status, log *slog.Logger) {
	if nc == nil {
		return
	}
	data, err := json.Marshal(monitor.NewStreamStatus(streamID, st))
	if err == nil {
		err = nc.Publish(monitor.StatusSubject(streamID), data)
	}
	if err != nil {
		log.Warn("status not published", "component", "cmd", "stream", streamID, "state", st.State, "err", err)
	}
}
