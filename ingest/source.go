package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNoVideo means the input has no video stream to decode.
	ErrNoVideo = errors.New("ingest: no video stream")
	// ErrUnsupportedScheme means the URL scheme is not one Open accepts.
	ErrUnsupportedScheme = errors.New("ingest: unsupported URL scheme")
	// ErrTimeout means opening took longer than Options.OpenTimeout, or a read
	// stalled for longer than Options.ReadTimeout.
	ErrTimeout = errors.New("ingest: timed out")
	// ErrBadURL means the URL cannot be parsed or names nothing to open.
	ErrBadURL = errors.New("ingest: bad URL")
	// ErrNoDecoder means libav has no decoder for the video codec.
	ErrNoDecoder = errors.New("ingest: no decoder")
	// ErrClosed means the source was closed, possibly while Run was reading.
	ErrClosed = errors.New("ingest: source closed")
)

// Options for Open. Zero values mean the documented defaults.
type Options struct {
	// Realtime paces a file at its frame rate, so it behaves like a live stream.
	// Default false: decode as fast as the handler allows.
	Realtime bool
	// MediaClock sets Frame.Wall to Info.StartWall + media time (deterministic, for
	// replay). Default false: Frame.Wall is time.Now() when the frame is decoded.
	MediaClock bool
	// OpenTimeout bounds connecting to and probing an input. Default 10s.
	OpenTimeout time.Duration
	// ReadTimeout fails a read that stalls longer than this (libav rw_timeout plus an
	// interrupt watchdog). Default 10s.
	ReadTimeout time.Duration
	// Logger receives the source's logs, with component=ingest. Default: none.
	Logger *slog.Logger
	// FramesDecoded, if not nil, is incremented once per decoded frame.
	FramesDecoded prometheus.Counter
}

const defaultTimeout = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = defaultTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = defaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "ingest")
	return o
}

// Info describes an opened source.
type Info struct {
	Width, Height int
	FrameRate     float64 // frames per second as libav guesses it; 0 if unknown
	Codec         string  // libav codec name, e.g. "h264"
	Live          bool    // best effort: a network stream without a known duration
	// StartWall is the wall-clock time of media time 0. With Options.MediaClock it is the
	// container's creation_time, else a local file's modification time, else the time
	// of Open; without MediaClock it is the time of Open.
	StartWall time.Time
}

// Source is an opened input. Open it, call Run once, then Close.
type Source struct {
	in   input
	opts Options
	log  *slog.Logger
	info Info

	// C objects, freed by Close.
	fc     *astiav.FormatContext
	cc     *astiav.CodecContext
	pkt    *astiav.Packet
	frame  *astiav.Frame
	opened bool // fc holds an open input (avformat_close_input, not avformat_free_context)

	intr        *interrupter // kept referenced: libav holds a pointer into it
	pin         runtime.Pinner
	streamIndex int
	clock       mediaClock

	runMu     sync.Mutex // held by Run, and by Close while it frees
	ran       bool
	closed    atomic.Bool
	readSince atomic.Int64 // unix nanos when the pending read started, 0 when none

	// Run state.
	paceStart   time.Time
	pacer       *time.Timer
	badPackets  int // corrupt packets skipped, in all
	badInARow   int // corrupt packets skipped since the last good frame
	clampEvents int
}

// Open opens url (a local path, a file: URL, or an http, https, rtmp, rtmps, rtsp,
// rtsps, srt or udp URL; HLS and DASH over http(s)), picks its best video stream and
// opens a decoder for it. ctx bounds only the opening; Run takes its own.
//
// Errors name the input with credentials redacted. They wrap ErrUnsupportedScheme,
// ErrNoVideo, ErrTimeout, the context's error, fs errors for local files, or libav's.
func Open(ctx context.Context, url string, opts Options) (*Source, error) {
	opts = opts.withDefaults()
	in, err := parseInput(url)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", in.redacted, err)
	}
	s := &Source{in: in, opts: opts, log: opts.Logger, streamIndex: -1}
	if err := s.open(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open %s: %w", in.redacted, err)
	}
	s.log.Info("source opened", "url", in.redacted, "format", s.fc.InputFormat().Name(),
		"codec", s.info.Codec, "width", s.info.Width, "height", s.info.Height,
		"fps", s.info.FrameRate, "live", s.info.Live)
	return s, nil
}

func (s *Source) open(ctx context.Context) error {
	var mtime time.Time
	if !s.in.network {
		fi, err := os.Stat(s.in.path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message
			}
			return fmt.Errorf("ingest: %w", err)
		}
		if fi.IsDir() {
			return errors.New("ingest: is a directory")
		}
		mtime = fi.ModTime()
	}
	openedAt := time.Now()

	if s.pkt = astiav.AllocPacket(); s.pkt == nil {
		return errors.New("ingest: allocating packet failed")
	}
	if s.frame = astiav.AllocFrame(); s.frame == nil {
		return errors.New("ingest: allocating frame failed")
	}
	if s.fc = astiav.AllocFormatContext(); s.fc == nil {
		return errors.New("ingest: allocating format context failed")
	}
	// Must be set before OpenInput: libav copies the callback into every nested I/O context.
	ii := s.fc.SetInterruptCallback()
	// go-astiav stores a pointer to the Go-allocated flag in the C context; pin it for
	// as long as libav may read it (cgo rules; the store itself trips GOEXPERIMENT=cgocheck2).
	s.pin.Pin(ii)
	s.intr = newInterrupter(ii)

	d := astiav.NewDictionary()
	defer d.Free()
	set := func(k, v string) error {
		if err := d.Set(k, v, 0); err != nil {
			return fmt.Errorf("ingest: setting option %s: %w", k, err)
		}
		return nil
	}
	protocols := localProtocols
	if s.in.network {
		protocols = networkProtocols
	}
	if err := set("protocol_whitelist", protocols); err != nil {
		return err
	}
	if err := set("format_whitelist", formatWhitelist); err != nil {
		return err
	}
	if s.in.network {
		us := strconv.FormatInt(s.opts.ReadTimeout.Microseconds(), 10)
		// rw_timeout is the generic URLContext option (tcp, tls, http, rtmp inherit it).
		if err := set("rw_timeout", us); err != nil {
			return err
		}
		// udp and srt have their own microsecond "timeout". Never set "timeout" for
		// rtmp: there it means "listen for incoming connections".
		if s.in.scheme == "udp" || s.in.scheme == "srt" {
			if err := set("timeout", us); err != nil {
				return err
			}
		}
		// Probe less than libav's 5 MB / 5 s: a live stream's parameters are known
		// after a keyframe, and every probed second is a second of alert latency
		// (and of blindness after a worker takes a stream over). Half a second:
		// opening an RTMP stream with a 2 s GOP from nginx took 2.0 s, against
		// 4.0 s with 2 s of analysis.
		// (Not fflags=nobuffer: it throws away the packets read while probing, so
		// the first seconds of a stream would go unwatched; decoding the probed
		// packets catches up with the live edge in a fraction of a second.)
		if err := set("probesize", "1000000"); err != nil {
			return err
		}
		if err := set("analyzeduration", "500000"); err != nil {
			return err
		}
		if s.in.scheme == "rtsp" || s.in.scheme == "rtsps" {
			// Interleaved TCP first: UDP is often filtered between a platform and its workers.
			if err := set("rtsp_flags", "prefer_tcp"); err != nil {
				return err
			}
		}
	}

	stop := s.watchOpen(ctx)
	err := s.fc.OpenInput(s.in.ffURL, nil, d)
	if err == nil {
		s.opened = true
		err = s.fc.FindStreamInfo(nil)
		if err != nil {
			err = s.interruptErr(ctx, "find stream info", err)
		}
	} else {
		err = s.interruptErr(ctx, "open input", err)
		// avformat_open_input answers EINVAL when the probed format is not whitelisted.
		if errors.Is(err, astiav.Error(-int(syscall.EINVAL))) {
			err = fmt.Errorf("%w (unsupported container? allowed demuxers: %s)", err, formatWhitelist)
		}
	}
	stop()
	if err != nil {
		return err
	}
	// The opening deadline must not linger into Run.
	s.intr.reset()

	st, err := bestVideoStream(s.fc)
	if err != nil {
		return err
	}
	s.streamIndex = st.Index()
	cp := st.CodecParameters()
	dec := astiav.FindDecoder(cp.CodecID())
	if dec == nil {
		return fmt.Errorf("%w for codec %s", ErrNoDecoder, cp.CodecID().Name())
	}
	if s.cc = astiav.AllocCodecContext(dec); s.cc == nil {
		return errors.New("ingest: allocating codec context failed")
	}
	if err := cp.ToCodecContext(s.cc); err != nil {
		return fmt.Errorf("ingest: codec parameters: %w", err)
	}
	// Two threads: decoding a 720p stream rarely needs more, and many streams share the cores.
	s.cc.SetThreadCount(2)
	s.cc.SetThreadType(astiav.ThreadTypeFrame)
	if err := s.cc.Open(dec, nil); err != nil {
		return fmt.Errorf("ingest: opening decoder %s: %w", dec.Name(), err)
	}

	fps := s.fc.GuessFrameRate(st, nil).Float64()
	if fps <= 0 || fps > 1000 {
		fps = st.AvgFrameRate().Float64()
	}
	if fps < 0 || fps > 1000 {
		fps = 0
	}
	frameMS := int64(40)
	if fps > 0 {
		frameMS = max(int64(1000/fps+0.5), 1)
	}
	s.clock = mediaClock{tb: st.TimeBase(), frameMS: frameMS}

	s.info = Info{
		Width:     cp.Width(),
		Height:    cp.Height(),
		FrameRate: fps,
		Codec:     cp.CodecID().Name(),
		Live:      s.in.network && (liveSchemes[s.in.scheme] || s.fc.Duration() <= 0),
		StartWall: openedAt,
	}
	if s.opts.MediaClock {
		switch t, ok := creationTime(s.fc, st); {
		case ok:
			s.info.StartWall = t
		case !mtime.IsZero():
			s.info.StartWall = mtime
		}
	}
	return nil
}

// bestVideoStream stands in for av_find_best_stream, which go-astiav v0.16.0 lacks: the
// largest video stream that is not a still (cover art of an audio file, which has no
// frame rate and an image codec; AVStream.disposition is not exposed either).
func bestVideoStream(fc *astiav.FormatContext) (*astiav.Stream, error) {
	var best *astiav.Stream
	hasAudio := false
	for _, st := range fc.Streams() {
		if st.CodecParameters().MediaType() == astiav.MediaTypeAudio {
			hasAudio = true
		}
	}
	bestArea := -1
	for _, st := range fc.Streams() {
		cp := st.CodecParameters()
		if cp.MediaType() != astiav.MediaTypeVideo {
			continue
		}
		if hasAudio && looksLikeCoverArt(st) {
			continue
		}
		if area := cp.Width() * cp.Height(); area > bestArea {
			best, bestArea = st, area
		}
	}
	if best == nil {
		return nil, ErrNoVideo
	}
	return best, nil
}

func looksLikeCoverArt(st *astiav.Stream) bool {
	if st.AvgFrameRate().Num() != 0 {
		return false
	}
	switch st.CodecParameters().CodecID().Name() {
	case "mjpeg", "png", "bmp", "gif", "tiff", "webp", "jpegls":
		return true
	}
	return false
}

// creationTime reads the creation_time metadata of the container or, failing that,
// of the stream.
func creationTime(fc *astiav.FormatContext, st *astiav.Stream) (time.Time, bool) {
	for _, md := range []*astiav.Dictionary{fc.Metadata(), st.Metadata()} {
		if md == nil { // go-astiav returns nil for an empty dictionary
			continue
		}
		e := md.Get("creation_time", nil, 0)
		if e == nil {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, e.Value()); err == nil && t.Unix() > 0 {
			return t, true
		}
	}
	return time.Time{}, false
}

// watchOpen interrupts libav when ctx ends or the open timeout passes. The returned
// stop function ends the watcher and waits for it.
func (s *Source) watchOpen(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(s.opts.OpenTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
			s.intr.trigger(ctx.Err())
		case <-t.C:
			s.intr.trigger(fmt.Errorf("%w: no answer within %s", ErrTimeout, s.opts.OpenTimeout))
		case <-done:
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// watchRun interrupts libav when ctx ends, or when a read has been pending for longer
// than the read timeout (time spent in the handler or in pacing does not count).
func (s *Source) watchRun(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	tick := min(max(s.opts.ReadTimeout/5, 10*time.Millisecond), time.Second)
	wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				s.intr.trigger(ctx.Err())
				return
			case <-t.C:
				since := s.readSince.Load()
				if since != 0 && time.Since(time.Unix(0, since)) > s.opts.ReadTimeout {
					s.intr.trigger(fmt.Errorf("%w: no data for %s", ErrTimeout, s.opts.ReadTimeout))
					return
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// interruptErr explains a libav error: the reason of an interrupt we caused, else
// libav's own error, marked as a timeout when it is one.
func (s *Source) interruptErr(ctx context.Context, op string, err error) error {
	if cause := s.intr.cause(); cause != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(cause, ctxErr) {
			return ctxErr
		}
		return cause
	}
	if errors.Is(err, astiav.ErrEtimedout) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, op, err)
	}
	return fmt.Errorf("ingest: %s: %w", op, err)
}

// Info describes the source as opened.
func (s *Source) Info() Info { return s.info }

// Run decodes the source and calls handle for each frame, in order, on the calling
// goroutine. The frame's AV is valid only during the call. Run returns nil at the end
// of the input, ctx.Err() when ctx ends, handle's error as is, or a wrapped read or
// decode error (ErrTimeout when a read stalls). Corrupt packets are skipped (up to
// 100 in a row). Run may be called once; handle must not call Close.
func (s *Source) Run(ctx context.Context, handle func(Frame) error) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("read %s: %w", s.in.redacted, ErrClosed)
	}
	if s.ran {
		return fmt.Errorf("read %s: ingest: Run called twice", s.in.redacted)
	}
	s.ran = true
	s.intr.reset()
	stop := s.watchRun(ctx)
	defer stop()
	s.pacer = time.NewTimer(time.Hour)
	s.pacer.Stop()
	defer s.pacer.Stop()

	err := s.loop(ctx, handle)
	if s.badPackets > 0 || s.clampEvents > 0 {
		s.log.Info("source ended", "url", s.in.redacted, "bad_packets", s.badPackets,
			"timestamp_fixes", s.clampEvents)
	}
	return err
}

// maxBadPackets is how many packets in a row the decoder may reject, without a frame
// coming out, before Run gives up.
const maxBadPackets = 100

func (s *Source) loop(ctx context.Context, handle func(Frame) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.readSince.Store(time.Now().UnixNano())
		err := s.fc.ReadFrame(s.pkt)
		s.readSince.Store(0)
		if err != nil {
			// An interrupted read may surface as EOF: check for our interrupt first.
			if s.intr.cause() != nil || !errors.Is(err, astiav.ErrEof) {
				return fmt.Errorf("read %s: %w", s.in.redacted, s.interruptErr(ctx, "read frame", err))
			}
			return s.drain(ctx, handle)
		}
		if s.pkt.StreamIndex() != s.streamIndex {
			s.pkt.Unref()
			continue
		}
		err = s.cc.SendPacket(s.pkt)
		s.pkt.Unref()
		if err != nil {
			if err := s.badData("send packet", err); err != nil {
				return err
			}
			continue
		}
		if _, err := s.receive(ctx, handle); err != nil {
			return err
		}
	}
}

// badData decides whether a decoding error ends Run: corrupt data in a live stream is
// not worth stopping for, unless nothing but corrupt data comes.
func (s *Source) badData(op string, err error) error {
	if !errors.Is(err, astiav.ErrInvaliddata) || s.badInARow >= maxBadPackets {
		return fmt.Errorf("decode %s: ingest: %s: %w", s.in.redacted, op, err)
	}
	s.badInARow++
	s.badPackets++
	s.log.Debug("decoder rejected data", "url", s.in.redacted, "op", op, "err", err)
	return nil
}

// drain flushes the frames the decoder still holds at the end of the input.
func (s *Source) drain(ctx context.Context, handle func(Frame) error) error {
	if err := s.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("decode %s: ingest: flush decoder: %w", s.in.redacted, err)
	}
	for {
		eof, err := s.receive(ctx, handle)
		if err != nil || eof {
			return err
		}
	}
}

// receive hands on every frame the decoder has ready. eof reports the decoder is drained.
func (s *Source) receive(ctx context.Context, handle func(Frame) error) (eof bool, err error) {
	for {
		err := s.cc.ReceiveFrame(s.frame)
		if errors.Is(err, astiav.ErrEagain) {
			return false, nil
		}
		if errors.Is(err, astiav.ErrEof) {
			return true, nil
		}
		if err != nil {
			return false, s.badData("receive frame", err)
		}
		s.badInARow = 0
		err = s.deliver(ctx, handle)
		s.frame.Unref()
		if err != nil {
			return false, err
		}
	}
}

func (s *Source) deliver(ctx context.Context, handle func(Frame) error) error {
	ts := s.frame.Pts()
	if ts == astiav.NoPtsValue {
		ts = bestEffortTimestamp(s.frame)
	}
	ms, ev := s.clock.at(ts)
	switch ev {
	case clockClamped, clockRebased:
		s.clampEvents++
		s.log.Debug("timestamp discontinuity", "url", s.in.redacted, "rebased", ev == clockRebased,
			"media_ms", ms)
	}
	if s.opts.Realtime {
		if err := s.pace(ctx, ms); err != nil {
			return err
		}
	}
	wall := time.Now()
	if s.opts.MediaClock {
		wall = s.info.StartWall.Add(time.Duration(ms) * time.Millisecond)
	}
	if s.opts.FramesDecoded != nil {
		s.opts.FramesDecoded.Inc()
	}
	return handle(Frame{AV: s.frame, MediaMS: ms, Wall: wall, Width: s.frame.Width(), Height: s.frame.Height()})
}

// pace waits until media time ms is due, measured from the first frame handed on.
func (s *Source) pace(ctx context.Context, ms int64) error {
	if s.paceStart.IsZero() {
		s.paceStart = time.Now().Add(-time.Duration(ms) * time.Millisecond)
		return nil
	}
	wait := time.Until(s.paceStart.Add(time.Duration(ms) * time.Millisecond))
	if wait <= 0 {
		return ctx.Err()
	}
	s.pacer.Reset(wait)
	select {
	case <-s.pacer.C:
		return nil
	case <-ctx.Done():
		s.pacer.Stop()
		return ctx.Err()
	}
}

// Close frees every C object of the source. If Run is reading, Close interrupts it
// and waits for it to return (Run then reports ErrClosed). Safe to call twice.
func (s *Source) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.intr != nil {
		s.intr.trigger(ErrClosed)
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.cc != nil {
		s.cc.Free()
		s.cc = nil
	}
	if s.fc != nil {
		if s.opened {
			s.fc.CloseInput()
		} else {
			// Also right after a failed OpenInput, which has freed the context already
			// and left a NULL that avformat_free_context ignores.
			s.fc.Free()
		}
		s.fc = nil
	}
	s.pin.Unpin()
	if s.pkt != nil {
		s.pkt.Free()
		s.pkt = nil
	}
	if s.frame != nil {
		s.frame.Free()
		s.frame = nil
	}
	return nil
}
