package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
)

// State is the state of a supervised stream, as reported in Status.State. Its
// JSON form (in the stream status messages) is the word itself.
type State string

// Stream states reported in Status.State.
const (
	StateAttached     State = "attached"     // a source is open; frames flow
	StateReconnecting State = "reconnecting" // the source failed or ended; waiting Delay before attempt Attempt
	StateGap          State = "gap"          // frames flow again after an unmonitored span, Gap says which
	StateEnded        State = "ended"        // Run returned; Err says why, nil for a normal end
)

// Status is a change in a supervised stream's state.
type Status struct {
	State State
	At    time.Time // wall-clock time of the change
	// MediaMS is the media time of the latest frame handed on (0 before the first).
	MediaMS int64
	// Attempt counts the opens since frames last flowed: 0 for the first attach, 1, 2, …
	// while reconnecting.
	Attempt int
	// Delay is the backoff before Attempt (reconnecting only).
	Delay time.Duration
	// Err is why the stream is reconnecting, or why it ended when it failed.
	// Its text names URLs redacted.
	Err error
	// Stopped is why a stream that was asked to stop ended (ended only): the
	// cause of the context that ended Run (a signal, an operator's stop, a
	// hand-over); Err is nil then. Nil for a stream that ended by itself or failed.
	Stopped error
	// Info is the opened source's description (attached only).
	Info *Info
	// Gap is the unmonitored span (gap only).
	Gap *Gap
}

// Gap is a span of a live stream nobody watched: from the last frame before a
// failure to the first frame after the reconnect, in media time and wall-clock.
type Gap struct {
	FromMS, ToMS int64
	From, To     time.Time
}

// SuperviseOptions tune Supervise. Zero values mean the documented defaults.
type SuperviseOptions struct {
	// InitialBackoff is the delay before the first reconnect. Default 500ms; it doubles
	// with every failed attempt, with ±20% jitter, up to MaxBackoff.
	InitialBackoff time.Duration
	// MaxBackoff caps the delay between reconnects. Default 30s.
	MaxBackoff time.Duration
	// StallTimeout forces a reconnect when a live source hands on no frame for this
	// long (a server that keeps the connection but sends nothing decodable). Default 10s.
	StallTimeout time.Duration
	// Status, if not nil, is called on every state change, from the goroutine that
	// calls Supervise or Run. It must not block for long.
	Status func(Status)
	// Open opens the source; default OpenStream(ctx, url, opts). Tests hand in fakes.
	Open func(ctx context.Context, url string, opts Options) (Stream, error)
	// Opens, if not nil, admits each open (see OpenGate); share one among
	// the streams of a process.
	Opens *OpenGate
}

const (
	defaultInitialBackoff = 500 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultStallTimeout   = 10 * time.Second
)

// ErrStalled means a live source handed on no frame for SuperviseOptions.StallTimeout.
var ErrStalled = errors.New("ingest: stalled")

// Supervised is a Stream that, for live and network sources, reopens the source
// after it fails, ends or stalls, with exponential backoff, and keeps media time
// monotonic across the reconnects. Local files are not supervised: they end at EOF.
type Supervised struct {
	url  string
	opts Options
	so   SuperviseOptions
	log  *slog.Logger
	live bool // network input: reconnect on errors (and on EOF when Info.Live)

	mu      sync.Mutex
	cur     Stream
	info    Info
	closed  bool
	done    chan struct{} // closed by Close: ends a backoff wait
	attempt int

	// Media time bookkeeping, touched only by Run's goroutine.
	lastMS   int64
	lastWall time.Time
	haveLast bool
	recent   recentFrames // the current connection's last frames, for settleLast
	resumed  bool         // ContinueFrom was called: the first frame continues lastMS
	lastLive atomic.Int64 // unix nanos of the latest frame or attach, for the watchdog
}

var _ Stream = (*Supervised)(nil)

// Supervise opens url like OpenStream and returns it supervised. For a network
// URL it keeps retrying a failed first open with backoff (each failure is
// logged and reported as reconnecting) until it succeeds, ctx ends, or the error
// is permanent (see IsPermanent); a local input that cannot be opened fails at once.
func Supervise(ctx context.Context, url string, opts Options, so SuperviseOptions) (*Supervised, error) {
	if so.InitialBackoff <= 0 {
		so.InitialBackoff = defaultInitialBackoff
	}
	if so.MaxBackoff <= 0 {
		so.MaxBackoff = defaultMaxBackoff
	}
	so.MaxBackoff = max(so.MaxBackoff, so.InitialBackoff)
	if so.StallTimeout <= 0 {
		so.StallTimeout = defaultStallTimeout
	}
	if so.Open == nil {
		so.Open = OpenStream
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervised{url: url, opts: opts, so: so, done: make(chan struct{}), log: log.With("component", "ingest", "url", Redact(url))}
	if IsWHEP(url) {
		s.live = true
	} else if in, err := parseInput(url); err == nil {
		s.live = in.network
	}
	if err := s.attach(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// IsPermanent reports whether retrying an open that failed with err is pointless:
// a refused scheme, a malformed URL, an input without video or without a decoder,
// a WHEP endpoint that answered 4xx, a fetch the origin checks refused (another
// origin, a private address, a local file or another protocol named by a
// playlist), an HTTP source that answered 400 (Bad Request) or 401
// (Unauthorized): the same request gets the same answer.
// Refused connections, timeouts, resets, EOF, HTTP 5xx and the other 4xx are
// transient: a live playlist is 404 (or 403, from a store that hides what it
// does not have) until its stream starts, and 408 and 429 ask to come back.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrUnsupportedScheme) || errors.Is(err, ErrBadURL) ||
		errors.Is(err, ErrNoVideo) || errors.Is(err, ErrNoDecoder) || errors.Is(err, ErrWHEPRefused) ||
		isRefusal(err) || errors.Is(err, astiav.ErrHttpBadRequest) || errors.Is(err, astiav.ErrHttpUnauthorized)
}

func (s *Supervised) emit(st Status) {
	st.At = time.Now()
	if st.MediaMS == 0 && s.haveLast {
		st.MediaMS = s.lastMS
	}
	if s.so.Status != nil {
		s.so.Status(st)
	}
}

// attach opens the source, retrying with backoff while that makes sense.
func (s *Supervised) attach(ctx context.Context) error {
	for {
		if err := s.so.Opens.enter(ctx); err != nil {
			return fmt.Errorf("open %s: %w", Redact(s.url), err)
		}
		src, err := s.so.Open(ctx, s.url, s.opts)
		s.so.Opens.leave()
		if err == nil {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				s.closeSource(src)
				return fmt.Errorf("open %s: %w", Redact(s.url), ErrClosed)
			}
			s.cur, s.info = src, src.Info()
			s.mu.Unlock()
			info := s.info
			s.emit(Status{State: StateAttached, Attempt: s.attempt, Info: &info})
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("open %s: %w", Redact(s.url), ctx.Err())
		}
		// A refusal ends the stream even after frames flowed: the playlist
		// names what it may not, and will again.
		if !s.live || (IsPermanent(err) && !s.haveLast) || isRefusal(err) {
			return err
		}
		if werr := s.backoff(ctx, err); werr != nil {
			return fmt.Errorf("open %s: %w", Redact(s.url), werr)
		}
	}
}

// backoff reports the failure, then waits the next delay.
func (s *Supervised) backoff(ctx context.Context, cause error) error {
	s.attempt++
	base := s.so.InitialBackoff << min(s.attempt-1, 30)
	if base <= 0 || base > s.so.MaxBackoff {
		base = s.so.MaxBackoff
	}
	// ±20% jitter, so that many workers cut off by one outage do not come back in step.
	delay := time.Duration(float64(base) * (0.8 + 0.4*rand.Float64()))
	s.log.Warn("reconnecting", "attempt", s.attempt, "delay", delay.Round(time.Millisecond), "err", cause)
	s.emit(Status{State: StateReconnecting, Attempt: s.attempt, Delay: delay, Err: cause})
	return after(ctx, delay, s.done)
}

// Info describes the source as last opened.
func (s *Supervised) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// ContinueFrom makes the media time of a live source continue a timeline
// begun by an earlier watcher (another worker, a previous run): the first
// frame gets ms plus the wall-clock time since wall, as after a reconnect, and
// the span in between is reported as a gap. Call it before Run. It does
// nothing for a source that is not live: a recording read again starts at 0,
// so its media times (and alert ids) come out as before.
func (s *Supervised) ContinueFrom(ms int64, wall time.Time) {
	if !s.Info().Live || wall.IsZero() || ms < 0 {
		return
	}
	s.lastMS, s.lastWall, s.haveLast, s.resumed = ms, wall, true, true
}

// EndStatus is the StateEnded status of a run under ctx that returned err.
// A run that ended because ctx did was stopped, not failed: Err is nil and
// Stopped is ctx's cause.
func EndStatus(ctx context.Context, err error) Status {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return Status{State: StateEnded, Stopped: context.Cause(ctx)}
	}
	return Status{State: StateEnded, Err: err}
}

// Run decodes the source, reopening it after failures when it is a network
// source, and calls handle for each frame. Media time continues across a
// reconnect from the last frame's media time plus the wall-clock time that
// passed, so spans nobody watched keep their length. Run returns nil when a
// non-live source ends, ctx.Err() when ctx ends, handle's error as is, or the
// source's error for a local input. It reports StateEnded last (see EndStatus).
func (s *Supervised) Run(ctx context.Context, handle func(Frame) error) (err error) {
	defer func() { s.emit(EndStatus(ctx, err)) }()
	var (
		offset     int64
		needOffset = s.resumed // the first frame of a reopened source sets offset
		handleErr  error
	)
	wrapped := func(f Frame) error {
		now := f.Wall
		if needOffset {
			needOffset = false
			gap := time.Duration(0)
			if !s.lastWall.IsZero() {
				gap = max(time.Since(s.lastWall), 0)
			}
			target := s.lastMS + max(gap.Milliseconds(), 1)
			offset = target - f.MediaMS
			s.emit(Status{State: StateGap, MediaMS: target, Attempt: s.attempt,
				Gap: &Gap{FromMS: s.lastMS, ToMS: target, From: s.lastWall, To: time.Now()}})
		}
		s.attempt = 0 // frames flow: the next failure starts the backoff afresh
		f.MediaMS += offset
		if s.haveLast && f.MediaMS < s.lastMS {
			f.MediaMS = s.lastMS
		}
		s.lastMS, s.lastWall, s.haveLast = f.MediaMS, now, true
		s.recent.add(f.MediaMS, now)
		s.lastLive.Store(time.Now().UnixNano())
		if err := handle(f); err != nil {
			handleErr = err
			return err
		}
		return nil
	}
	for {
		s.mu.Lock()
		src := s.cur
		s.mu.Unlock()
		if src == nil {
			return fmt.Errorf("read %s: %w", Redact(s.url), ErrClosed)
		}
		err := s.runOnce(ctx, src, wrapped)
		s.closeSource(src)
		s.mu.Lock()
		s.cur = nil
		closed := s.closed
		s.mu.Unlock()
		switch {
		case handleErr != nil && errors.Is(err, handleErr):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case closed:
			return fmt.Errorf("read %s: %w", Redact(s.url), ErrClosed)
		case !s.live:
			return err
		case isRefusal(err):
			return err // refused for good, see attach
		case err == nil && !s.info.Live:
			return nil // a recording over the network ended
		case err == nil:
			err = fmt.Errorf("read %s: %w", Redact(s.url), ErrEndOfStream)
		}
		s.settleLast()
		if berr := s.backoff(ctx, err); berr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s: %w", Redact(s.url), ErrClosed)
		}
		if err := s.attach(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		needOffset = s.haveLast
		s.recent = recentFrames{}
	}
}

// settleLast dates the last frame of a connection that failed or ended by
// when its data came, not by when it was handed on. The demuxer holds the
// last packet back until the next one begins and the decoder a frame or two
// more; they come out only when the read fails (a stall or read timeout, a
// reset, the end), though they came in with the data before the silence. So
// the last frame stands for the earliest time the connection's recent frames
// put it at (each one's wall-clock plus the media time from it to the last),
// and the gap, and media time after the reconnect, count the silence from the
// last data rather than from when it was noticed.
func (s *Supervised) settleLast() {
	if at, ok := s.recent.earliest(s.lastMS); ok && at.Before(s.lastWall) {
		s.lastWall = at
	}
}

// recentFramesKept is how many frames settleLast looks back over: more than
// a demuxer and a decoder hold back, few enough that a source whose media
// clock runs slow against the wall-clock cannot pull the estimate back much.
const recentFramesKept = 16

// recentFrames is a ring of the media and wall-clock times of the last frames.
type recentFrames struct {
	ms   [recentFramesKept]int64
	wall [recentFramesKept]time.Time
	n    int // frames added; the ring holds the last min(n, recentFramesKept)
}

func (r *recentFrames) add(ms int64, wall time.Time) {
	i := r.n % recentFramesKept
	r.ms[i], r.wall[i] = ms, wall
	r.n++
}

// earliest is the earliest wall-clock time any kept frame puts media time ms at.
func (r *recentFrames) earliest(ms int64) (time.Time, bool) {
	var at time.Time
	for i := range min(r.n, recentFramesKept) {
		t := r.wall[i].Add(time.Duration(max(ms-r.ms[i], 0)) * time.Millisecond)
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// runOnce runs one opened source under the no-frames watchdog (live sources only).
func (s *Supervised) runOnce(ctx context.Context, src Stream, handle func(Frame) error) error {
	if !s.live {
		return src.Run(ctx, handle)
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.lastLive.Store(time.Now().UnixNano())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(min(max(s.so.StallTimeout/10, 10*time.Millisecond), time.Second))
		defer tick.Stop()
		alive := newPacketWatch(src)
		for {
			select {
			case <-done:
				return
			case <-actx.Done():
				return
			case <-tick.C:
				if s.stalled(alive) {
					cancel(ErrStalled)
					return
				}
			}
		}
	})
	err := src.Run(actx, handle)
	close(done)
	wg.Wait()
	if ctx.Err() == nil && errors.Is(context.Cause(actx), ErrStalled) {
		return fmt.Errorf("read %s: %w: no frame for %s", Redact(s.url), ErrStalled, s.so.StallTimeout)
	}
	return err
}

// Close closes the current source, interrupting Run, which then returns. Safe to call twice.
func (s *Supervised) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	src := s.cur
	s.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}

// closeSource closes a source that is done with; a failure (a WebRTC peer
// connection that would not close) is logged, as the stream goes on with the
// next source anyway.
func (s *Supervised) closeSource(src Stream) {
	if err := src.Close(); err != nil {
		s.log.Warn("source not closed cleanly", "err", err)
	}
}
