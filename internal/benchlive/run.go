package benchlive

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamwatch/streamwatch/pool"
)

const (
	stopGrace    = 15 * time.Second // SIGTERM to SIGKILL; the worker drains within 10 s
	procEvery    = time.Second
	scrapeEvery  = 5 * time.Second
	minSpan      = 10 * time.Second
	submitBudget = 30 * time.Second
)

// run is one live bench run in progress.
type run struct {
	cfg   Config
	clip  benchClip
	ref   DecodeRef // the machine's speed, measured before the run
	dir   string
	out   io.Writer
	group *procGroup
	coll  *collector

	w       *worker
	nginx   *child
	idle    ProcSample // the worker before any stream
	streams []stream
	tl      timeline

	mu      sync.Mutex
	procs   []ProcSample
	scrapes []Scrape
	errs    []error // sampling failures, reported once at the end
}

// stream is one published stream.
type stream struct {
	id, url string
	pub     *child
	start   time.Time
}

// timeline is when the run's phases begin and end.
type timeline struct {
	loop                  bool
	firstStart, lastStart time.Time
	spanStart, spanEnd    time.Time // the measured span: every stream live
	runEnd                time.Time // when the bench stops collecting alerts
}

// snapshot is the worker and the machine at one moment.
type snapshot struct {
	proc    ProcSample
	scrape  Scrape
	machine machineSample
	peers   peersCPU
}

// peersCPU is the CPU time the bench's own servers and publishers have used,
// to tell their share of the machine's load from the worker's.
type peersCPU struct{ nginx, publishers time.Duration }

// readPeers sums the CPU of nginx and the publishers still running; one that
// has exited counts as nothing (both ends of a span are read the same way).
func (r *run) readPeers() peersCPU {
	var p peersCPU
	if n, err := ReadProc(r.nginx.cmd.Process.Pid); err == nil {
		p.nginx = n.CPU
	}
	for _, st := range r.streams {
		if s, err := ReadProc(st.pub.cmd.Process.Pid); err == nil {
			p.publishers += s.CPU
		}
	}
	return p
}

func (r *run) run(ctx context.Context, nc *nats.Conn, natsURL string) (*Summary, error) {
	rtmpPort, nginx, err := startNginx(ctx, r.group, r.dir, r.cfg.Streams)
	r.nginx = nginx
	if err != nil {
		return nil, err
	}
	if r.w, err = startWorker(ctx, r.group, r.cfg.Bin, natsURL, r.dir, r.cfg.Streams, r.cfg.WorkerArgs); err != nil {
		return nil, err
	}
	if r.idle, err = ReadProc(r.w.pid); err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, submitBudget)
	store, err := pool.Open(octx, nc, 0)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	sctx, stopSampler := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { r.sample(sctx) })
	defer func() { stopSampler(); sampling.Wait() }()

	if err := r.startStreams(ctx, store, rtmpPort); err != nil {
		return nil, err
	}
	if err := r.plan(); err != nil {
		return nil, err
	}
	r.cfg.Log.Info("streams started", "streams", len(r.streams), "span_from", r.tl.spanStart.Format(time.TimeOnly),
		"span_to", r.tl.spanEnd.Format(time.TimeOnly), "run_to", r.tl.runEnd.Format(time.TimeOnly))
	a, err := r.snapshotAt(ctx, r.tl.spanStart)
	if err != nil {
		return nil, err
	}
	b, err := r.snapshotAt(ctx, r.tl.spanEnd)
	if err != nil {
		return nil, err
	}
	if err := r.waitForAlerts(ctx); err != nil {
		return nil, err
	}
	end, err := ReadProc(r.w.pid)
	if err != nil {
		return nil, err
	}
	stopSampler()
	sampling.Wait()
	stopAt := time.Now()
	stopErr := r.w.stop(stopGrace)
	sum := r.summarize(a, b, end, r.w.exitedAt.Sub(stopAt), stopErr)
	return sum, writeReport(r.out, sum)
}

// startStreams starts the publishers, cfg.Stagger apart, and submits each
// stream to the pool as soon as its publisher runs, as a platform would.
func (r *run) startStreams(ctx context.Context, store *pool.Store, rtmpPort int) error {
	loop := r.cfg.Duration > r.clip.length
	for i := range r.cfg.Streams {
		if i > 0 {
			if err := r.waitUntil(ctx, time.Now().Add(r.cfg.Stagger)); err != nil {
				return err
			}
		}
		s := stream{id: fmt.Sprintf("bench-%03d", i+1)}
		s.url = fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", rtmpPort, s.id)
		var err error
		s.pub, err = startPublisher(r.group, r.clip.path, s.url, filepath.Join(r.dir, s.id+".publisher.log"), loop)
		if err != nil {
			return err
		}
		s.start = time.Now()
		sctx, cancel := context.WithTimeout(ctx, submitBudget)
		err = store.Submit(sctx, pool.Assignment{StreamID: s.id, URL: s.url})
		cancel()
		if err != nil {
			return fmt.Errorf("benchlive: %w", err)
		}
		r.streams = append(r.streams, s)
	}
	return nil
}

// plan fixes the timeline once every publisher has started. Played once, the
// span ends a second before the first clip does; looped, at cfg.Duration.
func (r *run) plan() error {
	tl := timeline{loop: r.cfg.Duration > r.clip.length, firstStart: r.streams[0].start, lastStart: r.streams[len(r.streams)-1].start}
	tl.spanStart = tl.lastStart.Add(r.cfg.Warmup)
	if tl.loop {
		// The publishers go on looping through the grace, so that the showings
		// scored (those over before the span ends) can still give their alerts.
		tl.spanEnd = tl.firstStart.Add(r.cfg.Duration)
		tl.runEnd = tl.spanEnd.Add(r.cfg.Grace)
	} else {
		tl.spanEnd = tl.firstStart.Add(r.clip.length - time.Second)
		tl.runEnd = tl.lastStart.Add(r.clip.length + r.cfg.Grace)
	}
	if tl.spanEnd.Sub(tl.spanStart) < minSpan {
		return fmt.Errorf("%w: measured span %s is under %s: %d streams %s apart and %s of warm-up leave too little of a %s clip (give a longer DURATION)",
			ErrConfig, tl.spanEnd.Sub(tl.spanStart).Round(time.Millisecond), minSpan, r.cfg.Streams, r.cfg.Stagger, r.cfg.Warmup, r.clip.length)
	}
	r.tl = tl
	return nil
}

// waitForAlerts waits for the run's end; a clip played once ends it early,
// after the span, once every stream's alerts are closed (looped, the
// showings after the span go on opening alerts, so it waits the whole grace).
func (r *run) waitForAlerts(ctx context.Context) error {
	if r.tl.loop {
		return r.waitUntil(ctx, r.tl.runEnd)
	}
	ids := make([]string, len(r.streams))
	for i, st := range r.streams {
		ids[i] = st.id
	}
	for {
		now := time.Now()
		if !now.Before(r.tl.runEnd) {
			return nil
		}
		if arrivals, _ := r.coll.snapshot(); !now.Before(r.tl.spanEnd) && AllClosed(arrivals, ids, r.cfg.Rule) {
			r.cfg.Log.Info("every stream's alerts closed", "after_last_clip_s", now.Sub(r.tl.lastStart.Add(r.clip.length)).Seconds())
			r.tl.runEnd = now
			return nil
		}
		if err := r.waitUntil(ctx, now.Add(time.Second)); err != nil {
			return err
		}
	}
}

// waitUntil waits for t, failing early when ctx ends or the worker exits.
func (r *run) waitUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("benchlive: interrupted: %w", context.Cause(ctx))
	case <-r.w.done:
		return exitedEarly(ErrExited, "the worker (during the run)", r.w.child, filepath.Join(r.dir, "worker.log"))
	}
}

// snapshotAt waits for t and reads the worker's CPU, memory and metrics and
// the machine's CPU.
func (r *run) snapshotAt(ctx context.Context, t time.Time) (snapshot, error) {
	if err := r.waitUntil(ctx, t); err != nil {
		return snapshot{}, err
	}
	var s snapshot
	var err error
	if s.machine, err = readMachine(); err != nil {
		return s, err
	}
	if s.proc, err = ReadProc(r.w.pid); err != nil {
		return s, err
	}
	if s.scrape, err = scrape(ctx, r.w.metricsURL); err != nil {
		return s, err
	}
	s.peers = r.readPeers()
	return s, nil
}

// sample reads the worker's /proc every second and its metrics every five,
// and writes an RSS row every cfg.Every, until ctx ends.
func (r *run) sample(ctx context.Context) {
	t0 := time.Now()
	tick := time.NewTicker(procEvery)
	defer tick.Stop()
	nextScrape, nextRow := t0, t0.Add(r.cfg.Every)
	prevRow := r.idle
	r.writeRowHeader()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			p, err := ReadProc(r.w.pid)
			r.mu.Lock()
			if err != nil {
				r.errs = append(r.errs, err)
			} else {
				r.procs = append(r.procs, p)
			}
			r.mu.Unlock()
			if !now.Before(nextScrape) {
				nextScrape = now.Add(scrapeEvery)
				r.addScrape(ctx)
			}
			if err == nil && !now.Before(nextRow) {
				nextRow = nextRow.Add(r.cfg.Every)
				r.writeRow(now.Sub(t0), prevRow, p)
				prevRow = p
			}
		}
	}
}

func (r *run) addScrape(ctx context.Context) {
	s, err := scrape(ctx, r.w.metricsURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			r.errs = append(r.errs, err)
		}
		return
	}
	r.scrapes = append(r.scrapes, s)
}
