package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	oklog "github.com/oklog/run" // run is the name of main's entry point
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamwatch/streamwatch/match"
)

// Bounds of the shutdown steps of serve.
const (
	metricsShutdownTimeout = 2 * time.Second  // open /metrics and /readyz requests
	outboxFlushTimeout     = 15 * time.Second // last records out before exit
)

// serve runs body, the streams of the command, in one group with the
// process's helpers: the metrics server, the outbox sender and (with
// reloadRules) the rules watcher. unready, if not nil, answers /readyz: a
// reason means 503 with it. An
// interruption through ctx is a normal stop.
//
// Each member of the group is a start/stop pair; the first to return stops
// the others and serve waits for all of them. The shutdown order:
//
//  1. ctx ends (SIGINT, SIGTERM) or a helper fails: /readyz turns unready at
//     once and the streams stop (a pool worker hands its streams on first).
//  2. body sends what waits in the outbox (outboxFlushTimeout at most; what
//     cannot go stays on disk for the next start, and serve then returns
//     alerts.ErrOutboxLeft, which makes the exit status 1) and returns.
//  3. The helpers stop, in the order they were added, and serve waits for
//     them: the outbox sender, the rules watcher, the metrics server
//     (metricsShutdownTimeout for open requests). They outlive ctx so that
//     /readyz answers and the outbox drains while the streams stop.
//  4. serve returns; the caller's wiring.close then stops the OCR pool,
//     drains the NATS connection and shuts the embedded server down.
func (w *wiring) serve(ctx context.Context, reloadRules bool, unready func() string, body func(context.Context) error) error {
	// SIGHUP asks for a rules reload; a command that does not reload ignores
	// it rather than dying of it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var metrics *http.Server
	var ln net.Listener
	if w.c.metricsAddr != "" {
		var err error
		if ln, err = w.listenMetrics(); err != nil {
			return err
		}
		w.log.Info("metrics listening", "component", "cmd", "addr", "http://"+ln.Addr().String()+"/metrics")
		metrics = w.metricsServer(ctx, unready)
	}

	var g oklog.Group
	streams, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var left error // records the outbox could not send before exit
	g.Add(func() error {
		err := body(streams)
		left = w.flushOutbox(ctx)
		return err
	}, func(error) { stopStreams() })

	helpers, stopHelpers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHelpers()
	if w.outbox != nil {
		g.Add(func() error { return w.outbox.Run(helpers) }, func(error) { stopHelpers() })
	}
	if reloadRules {
		g.Add(func() error {
			match.WatchRules(helpers, w.c.rules, 2*time.Second, w.log, w.live.Swap, hup)
			return nil
		}, func(error) { stopHelpers() })
	}
	if w.console != nil {
		g.Add(func() error { return w.serveConsole(helpers) }, func(error) { stopHelpers() })
	}
	if metrics != nil {
		g.Add(func() error {
			if err := metrics.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
			defer cancel()
			if err := metrics.Shutdown(sctx); err != nil {
				w.log.Warn("metrics server did not stop in time", "component", "cmd", "err", err)
			}
		})
	}

	err := g.Run()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		w.log.Info("stopped", "component", "cmd")
		err = nil // interrupted by a signal: a normal stop
	}
	// Records left on disk fail the command (they are kept for the next
	// start): an operator or a supervisor must be able to tell.
	return errors.Join(err, left)
}

// listenMetrics listens on --metrics-addr. When the default address is
// taken (a second watch on the host), it takes a free port on the same host
// and says which; an address the user chose fails with one line saying what
// to do.
func (w *wiring) listenMetrics() (net.Listener, error) {
	addr := w.c.metricsAddr
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case !errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	case w.c.given("metrics-addr"):
		return nil, fmt.Errorf("--metrics-addr %s is in use (by another streamwatch?): "+
			"give a free HOST:PORT, :0 for any free port, or \"\" for no metrics: %w", addr, err)
	}
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", serr)
	}
	ln, ferr := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if ferr != nil {
		return nil, fmt.Errorf("--metrics-addr: %w; no free port either: %w", err, ferr)
	}
	w.log.Warn("default metrics address in use; took a free port (choose one with --metrics-addr)", "component", "cmd",
		"default", addr, "addr", "http://"+ln.Addr().String()+"/metrics")
	return ln, nil
}

// metricsServer answers /metrics, /healthz and /readyz. It is unready from
// the end of ctx on (the signal), before the drain begins, and while
// unready (if not nil) gives a reason, which the answer names.
func (w *wiring) metricsServer(ctx context.Context, unready func() string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{Registry: w.reg}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { answer(rw, http.StatusOK, "ok\n") })
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if ctx.Err() != nil {
			answer(rw, http.StatusServiceUnavailable, "not ready: stopping\n")
			return
		}
		if unready != nil {
			if why := unready(); why != "" {
				answer(rw, http.StatusServiceUnavailable, "not ready: "+why+"\n")
				return
			}
		}
		answer(rw, http.StatusOK, "ok\n")
	})
	if w.c.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
}

// answer writes a short plain-text reply. A reply that cannot be written
// means the client went away; there is nobody left to tell.
func answer(rw http.ResponseWriter, code int, body string) {
	rw.WriteHeader(code)
	_, _ = io.WriteString(rw, body) // the client is gone; nothing to do
}

// flushOutbox sends the records that wait in the outbox before the process
// exits; what cannot go stays on disk for the next start, and the error says
// how many records and where.
func (w *wiring) flushOutbox(ctx context.Context) error {
	if w.outbox == nil {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outboxFlushTimeout)
	defer cancel()
	return w.outbox.Flush(fctx)
}
