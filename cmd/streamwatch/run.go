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
	"github.com/streamwatch/streamwatch/frames"
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
	log, err := c.logger()
	if err != nil {
		return err
	}
	libavLevel := slog.LevelError // libav's warnings are mostly about stream quirks
	if c.logLevel == "debug" {
		libavLevel = slog.LevelDebug
	}
	ingest.RouteLibavLogs(log, libavLevel)
	ids := make([]string, len(srcs))
	for i, s := range srcs {
		if ids[i], err = c.streamIDFor(s); err != nil {
			return err
		}
	}
	rules, err := c.loadRules()
	if err != nil {
		return err
	}
	// The rules in force, swapped when the --rules file changes or on SIGHUP.
	matcher := match.NewMatcher(rules)
	live := match.NewLive(rules, matcher)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	sinks := alerts.Multi{&alerts.Printer{W: os.Stderr}}
	if c.out != "" {
		f, err := os.OpenFile(c.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		defer f.Close()
		sinks = append(sinks, &alerts.JSONLines{W: f})
	}

	natsURL := c.nats
	if natsURL == "" {
		natsURL = os.Getenv("NATS_URL")
	}
	if natsURL == "" && !replay {
		dir, err := os.MkdirTemp("", "streamwatch-nats-")
		if err != nil {
			return fmt.Errorf("embedded nats: %w", err)
		}
		defer os.RemoveAll(dir)
		srv, err := embednats.Start(dir, 0)
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		natsURL = srv.ClientURL()
		fmt.Fprintf(os.Stderr, "embedded NATS with JetStream at %s — read alerts with: nats sub --server %s 'streamwatch.alerts.>'\n", natsURL, natsURL)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := monitor.NewMetrics(reg)

	var evidence alerts.EvidenceStore
	if c.evidenceDir != "" {
		evidence = alerts.DirStore{Dir: c.evidenceDir}
	}
	var outbox *alerts.Outbox
	var statusNC *nats.Conn
	if natsURL != "" {
		// No reconnect buffer: while NATS is away a publish fails at once and
		// the record goes to the outbox on disk, not to memory.
		nc, err := nats.Connect(natsURL, nats.Name("streamwatch"), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
		if err != nil {
			return fmt.Errorf("connect to NATS %s: %w", ingest.Redact(natsURL), err)
		}
		defer nc.Drain()
		statusNC = nc
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = alerts.EnsureStreamWith(cctx, js, alerts.StreamOptions{MaxAge: c.alertsMaxAge, MaxBytes: c.alertsMaxBytes})
		if err == nil && evidence == nil {
			evidence, err = alerts.EnsureEvidenceBucket(cctx, js, c.evidenceMaxAge, c.evidenceMaxMB<<20)
		}
		cancel()
		if err != nil {
			return err
		}
		outbox, err = alerts.OpenOutbox(alerts.OutboxOptions{
			Dir: c.outboxDir, MaxRecords: c.outboxMax, Logger: log,
			Dropped: metrics.Alerts.OutboxDropped, Waiting: metrics.Alerts.OutboxWaiting,
		}, &alerts.JetStreamSink{JS: js, Attempts: 1})
		if err != nil {
			return err
		}
		sinks = append(sinks, outbox)
	}

	pool, err := ocr.NewPool(ocr.Options{Size: c.ocrWorkers, Languages: strings.Split(c.languages, "+")})
	if err != nil {
		return err
	}
	defer pool.Close()

	g, gctx := errgroup.WithContext(ctx)
	done := make(chan struct{})
	if c.metricsAddr != "" {
		ln, err := net.Listen("tcp", c.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		log.Info("metrics listening", "component", "cmd", "addr", "http://"+ln.Addr().String()+"/metrics")
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
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
	if outbox != nil {
		g.Go(func() error { // drain the outbox while streams run
			dctx, cancel := context.WithCancel(gctx)
			defer cancel()
			go func() { <-done; cancel() }()
			return outbox.Run(dctx)
		})
	}
	if !replay { // a replay is an audit: the same rules from start to end
		g.Go(func() error { // reload the rules file while streams run
			wctx, cancel := context.WithCancel(gctx)
			defer cancel()
			go func() { <-done; cancel() }()
			match.WatchRules(wctx, c.rules, 2*time.Second, log, live.Swap, hup)
			return nil
		})
	}
	g.Go(func() error {
		defer close(done)
		if outbox != nil {
			defer func() {
				// Last records out before exit; what cannot go stays on disk
				// for the next start.
				fctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 15*time.Second)
				defer cancel()
				if err := outbox.Flush(fctx); err != nil {
					log.Error("outbox not empty at exit", "component", "cmd", "err", err)
				}
			}()
		}
		for i, src := range srcs {
			id := ids[i]
			err := monitor.Run(gctx, monitor.Options{
				URL:      src,
				StreamID: ids[i],
				Channel:  c.channel,
				// A live source that takes longer than --stall-timeout to open or
				// to answer a read is reconnected, like one that sends no frames.
				Ingest: ingest.Options{Realtime: realtime, Logger: log,
					OpenTimeout: c.stallTimeout, ReadTimeout: c.stallTimeout},
				SampleInterval: c.sampleInterval,
				Replay:         replay,
				Rules:          rules,
				Matcher:        matcher,
				RulesSource:    live.Load,
				Reader:         pool,
				Detector:       frames.Detector{},
				Sink:           sinks,
				Evidence:       evidence,
				Tracker:        alerts.TrackerOptions{Gap: c.gap, MinHits: c.minHits, MaxLength: c.maxSegment},
				Supervise:      ingest.SuperviseOptions{MaxBackoff: c.reconnectMax, StallTimeout: c.stallTimeout},
				Status:         func(st ingest.Status) { publishStatus(statusNC, id, st, log) },
				Metrics:        metrics,
				Logger:         log,
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	err = g.Wait()
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
