package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/embednats"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/monitor"
	"github.com/streamwatch/streamwatch/ocr"
)

func cmdWatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	var c common
	c.register(fs, "localhost:9464")
	realtime := fs.Bool("realtime", false, "pace a file input at its frame rate, as if it were live")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("watch takes one URL, got %d arguments", len(pos))}
	}
	return runStreams(ctx, &c, pos, false, *realtime)
}

func cmdReplay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var c common
	c.register(fs, "")
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
			return usageError{fmt.Errorf("replay reads recorded files, not %s (use watch)", ingest.Redact(p))}
		}
	}
	return runStreams(ctx, &c, pos, true, false)
}

// runStreams wires the process for watch (one live URL) and replay (files, one
// after the other, deterministic).
func runStreams(ctx context.Context, c *common, srcs []string, replay, realtime bool) error {
	if err := c.validate(); err != nil {
		return err
	}
	ids := make([]string, len(srcs))
	for i, s := range srcs {
		var err error
		if ids[i], err = c.streamIDFor(s); err != nil {
			return err
		}
	}
	w, err := wire(ctx, c, replay)
	if err != nil {
		return err
	}
	defer w.close()
	return w.serve(ctx, !replay, nil, func(ctx context.Context) error {
		for i, src := range srcs {
			if err := monitor.Run(ctx, w.monitorOptions(src, ids[i], c.channel, replay, realtime)); err != nil {
				return err
			}
		}
		return nil
	})
}

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
	ocr      *ocr.Pool
	closers  []func()
}

// close releases what wire opened, last opened first.
func (w *wiring) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
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

	w.sinks = alerts.Multi{&alerts.Printer{W: os.Stderr}}
	if c.out != "" {
		f, err := os.OpenFile(c.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		w.closers = append(w.closers, func() { f.Close() })
		w.sinks = append(w.sinks, &alerts.JSONLines{W: f})
	}

	w.natsURL = c.nats
	if w.natsURL == "" {
		w.natsURL = os.Getenv("NATS_URL")
	}
	if w.natsURL == "" && !noEmbedded {
		dir, err := os.MkdirTemp("", "streamwatch-nats-")
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		w.closers = append(w.closers, func() { os.RemoveAll(dir) })
		srv, err := embednats.Start(dir, 0)
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, func() { srv.Shutdown(); srv.WaitForShutdown() })
		w.natsURL = srv.ClientURL()
		fmt.Fprintf(os.Stderr, "embedded NATS with JetStream at %s — read alerts with: nats sub --server %s 'streamwatch.alerts.>'\n", w.natsURL, w.natsURL)
	}
	w.reg = prometheus.NewRegistry()
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w.metrics = monitor.NewMetrics(w.reg)

	if c.evidenceDir != "" {
		w.evidence = alerts.DirStore{Dir: c.evidenceDir}
	}
	if w.natsURL != "" {
		// No reconnect buffer: while NATS is away a publish fails at once and
		// the record goes to the outbox on disk, not to memory.
		nc, err := nats.Connect(w.natsURL, nats.Name("streamwatch"), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
		if err != nil {
			return nil, fmt.Errorf("connect to NATS %s: %w", ingest.Redact(w.natsURL), err)
		}
		w.closers = append(w.closers, func() { nc.Drain() })
		w.nc = nc
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		w.js = js
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = alerts.EnsureStreamWith(cctx, js, alerts.StreamOptions{MaxAge: c.alertsMaxAge, MaxBytes: c.alertsMaxBytes})
		if err == nil && w.evidence == nil {
			w.evidence, err = alerts.EnsureEvidenceBucket(cctx, js, c.evidenceMaxAge, c.evidenceMaxMB<<20)
		}
		cancel()
		if err != nil {
			return nil, err
		}
		w.outbox, err = alerts.OpenOutbox(alerts.OutboxOptions{
			Dir: c.outboxDir, MaxRecords: c.outboxMax, Logger: w.log,
			Dropped: w.metrics.Alerts.OutboxDropped, Waiting: w.metrics.Alerts.OutboxWaiting,
		}, &alerts.JetStreamSink{JS: js, Attempts: 1})
		if err != nil {
			return nil, err
		}
		w.sinks = append(w.sinks, w.outbox)
	}

	pool, err := ocr.NewPool(ocr.Options{Size: c.ocrWorkers, Languages: strings.Split(c.languages, "+")})
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { pool.Close() })
	w.ocr = pool
	return w, nil
}

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
		Ingest: ingest.Options{Realtime: realtime, Logger: w.log,
			OpenTimeout: c.stallTimeout, ReadTimeout: c.stallTimeout},
		SampleInterval: c.sampleInterval,
		Replay:         replay,
		Rules:          w.live,
		Engine:         w.ocr,
		Sink:           w.sinks,
		Evidence:       w.evidence,
		Tracker:        alerts.TrackerOptions{Gap: c.gap, MinHits: c.minHits, MaxLength: c.maxSegment},
		Supervise:      ingest.SuperviseOptions{MaxBackoff: c.reconnectMax, StallTimeout: c.stallTimeout},
		Status:         func(st ingest.Status) { publishStatus(w.nc, id, st, w.log) },
		Metrics:        w.metrics,
		Logger:         w.log,
		Resume:         resume,
	}
}

// serve runs body beside the metrics server, the outbox and (with
// reloadRules) the rules watcher, which keep running until body returns; then
// it flushes the outbox. ready, if not nil, answers /readyz. An interruption
// through ctx is a normal stop.
func (w *wiring) serve(ctx context.Context, reloadRules bool, ready func() bool, body func(context.Context) error) error {
	log := w.log
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// The helpers outlive ctx: they stop when body is done (or one fails),
	// so that /readyz answers and the outbox drains during a drain.
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	done := make(chan struct{})
	if w.c.metricsAddr != "" {
		ln, err := net.Listen("tcp", w.c.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		log.Info("metrics listening", "component", "cmd", "addr", "http://"+ln.Addr().String()+"/metrics")
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{Registry: w.reg}))
		mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, "ok\n") })
		mux.HandleFunc("/readyz", func(rw http.ResponseWriter, _ *http.Request) {
			// Unready from the signal on, before the drain begins.
			if ctx.Err() != nil || ready != nil && !ready() {
				rw.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(rw, "not ready\n")
				return
			}
			io.WriteString(rw, "ok\n")
		})
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			select {
			case <-gctx.Done():
			case <-done:
			}
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return hs.Shutdown(sctx)
		})
	}
	if w.outbox != nil {
		g.Go(func() error { // drain the outbox while streams run
			dctx, cancel := context.WithCancel(gctx)
			defer cancel()
			go func() { <-done; cancel() }()
			return w.outbox.Run(dctx)
		})
	}
	if reloadRules {
		g.Go(func() error { // reload the rules file while streams run
			wctx, cancel := context.WithCancel(gctx)
			defer cancel()
			go func() { <-done; cancel() }()
			match.WatchRules(wctx, w.c.rules, 2*time.Second, log, w.live.Swap, hup)
			return nil
		})
	}
	g.Go(func() error {
		defer close(done)
		if w.outbox != nil {
			defer func() {
				// Last records out before exit; what cannot go stays on disk
				// for the next start.
				fctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 15*time.Second)
				defer cancel()
				if err := w.outbox.Flush(fctx); err != nil {
					log.Error("outbox not empty at exit", "component", "cmd", "err", err)
				}
			}()
		}
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(gctx, cancel) // a failed helper stops the streams
		defer stop()
		return body(bctx)
	})
	err := g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		slog.Info("stopped", "component", "cmd")
		return nil // interrupted by a signal: a normal stop
	}
	return err
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
