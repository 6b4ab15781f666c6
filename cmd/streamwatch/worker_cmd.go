package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/monitor"
	"github.com/streamwatch/streamwatch/pool"
)

// cmdWorker runs a pool worker: it takes streams from the JetStream work
// queue up to --capacity and watches them until SIGTERM, when it drains.
func cmdWorker(ctx context.Context, args []string) (err error) {
	fs, c := commandFlags("worker", "localhost:9464")
	c.registerSourceFlags(fs)
	capacity := fs.Int("capacity", 4, "most streams this worker watches at once")
	ackWait := fs.Duration("ack-wait", pool.DefaultAckWait, "lease of an assignment: a worker silent this long loses its streams to the others (set on the shared consumer)")
	workerID := fs.String("worker-id", defaultWorkerID(), "name of this worker in status, [A-Za-z0-9_-]")
	realtime := fs.Bool("realtime", false, "pace file inputs at their frame rate, as if they were live")
	maxLag := fs.Duration("max-lag", 5*time.Second, "a worker whose line reading lags more than this (a stream's frames, or lines waiting for a turn) fetches no new streams and answers /readyz 503")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	defer func() { err = c.failure(err) }()
	if len(pos) != 0 {
		return usageError{fmt.Errorf("worker takes no arguments, got %s", echo.Quote(strings.Join(pos, " ")))}
	}
	if c.streamID != "" || c.channel != "" {
		return usageError{errors.New("worker: --stream-id and --channel come with each submitted stream")}
	}
	if *capacity <= 0 {
		return usageError{fmt.Errorf("--capacity must be positive, got %d", *capacity)}
	}
	if *maxLag <= 0 {
		return usageError{fmt.Errorf("--max-lag must be positive, got %s", *maxLag)}
	}
	if *ackWait < 3*time.Second {
		return usageError{fmt.Errorf("--ack-wait must be at least 3s, got %s", *ackWait)}
	}
	if err := alerts.ValidateStreamID(*workerID); err != nil {
		return usageError{fmt.Errorf("--worker-id: %w", err)}
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.nats.serverURL() == "" {
		return usageError{errors.New("worker needs --nats URL (or $NATS_URL)")}
	}
	c.warmOCR = true
	w, err := wire(ctx, c, true)
	if err != nil {
		return err
	}
	defer w.close()
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	store, err := pool.Open(octx, w.nc, *ackWait)
	cancel()
	if err != nil {
		return err
	}
	worker, err := pool.NewWorker(pool.Options{
		Store: store, ID: *workerID, Capacity: *capacity, AckWait: *ackWait,
		Metrics: pool.NewMetrics(w.reg), Logger: w.log,
		Overloaded: func() string { return w.overloaded(*maxLag) },
		Loads:      w.streamLoads,
		// Pushed rules replace those of --rules (or the built-in ones) on
		// every worker; streams take them up at their next sampled frame.
		ApplyRules: func(yaml []byte) error {
			r, err := match.ParseRules(yaml)
			if err != nil {
				return err
			}
			w.live.Swap(r, match.NewMatcher(r))
			return nil
		},
		Watcher: pool.WatchFunc(func(ctx context.Context, a pool.Assignment) error {
			o := w.monitorOptions(a.URL, a.StreamID, a.Channel, false, *realtime)
			o.Handoff = pool.ErrHandoff // open segments stay open for the next worker
			err := monitor.Run(ctx, o)
			if errors.Is(context.Cause(ctx), pool.ErrHandoff) {
				// The next worker reads the stream's records to continue
				// them: send what is waiting before the stream is handed on.
				fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if ferr := w.outbox.Flush(fctx); ferr != nil {
					w.log.Warn("outbox not flushed before hand-over", "component", "cmd", "stream", a.StreamID, "err", ferr)
				}
			}
			return err
		}),
	})
	if err != nil {
		return err
	}
	// The rules come from the pool's bucket; the --rules file is only the
	// start, so it is not watched.
	return w.serve(ctx, false, worker.Unready, worker.Run)
}

// defaultWorkerID is the host name and process id.
func defaultWorkerID() string {
	host, _ := os.Hostname()
	return alerts.SanitizeStreamID(host + "-" + strconv.Itoa(os.Getpid()))
}

// overloaded says why the worker is over its budget: lines that have waited
// longer than maxLag for a turn of the scheduler, or a stream whose latest
// frame was read more than maxLag after it was decoded; "" within it.
func (w *wiring) overloaded(maxLag time.Duration) string {
	if d := w.sched.Waiting(); d > maxLag {
		return fmt.Sprintf("lines wait %s for a turn of the OCR pool, more than --max-lag %s", d.Round(100*time.Millisecond), maxLag)
	}
	for _, l := range w.metrics.Loads() {
		if l.Lag > maxLag.Seconds() {
			return fmt.Sprintf("stream %s lags %.1fs, more than --max-lag %s", l.StreamID, l.Lag, maxLag)
		}
	}
	return ""
}

// streamLoads are the monitors' loads, for the heartbeat.
func (w *wiring) streamLoads() []pool.StreamLoad {
	ls := w.metrics.Loads()
	out := make([]pool.StreamLoad, len(ls))
	for i, l := range ls {
		out[i] = pool.StreamLoad{StreamID: l.StreamID, Interval: l.Interval, Lag: l.Lag}
	}
	return out
}
