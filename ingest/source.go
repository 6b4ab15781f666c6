package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus"
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
	// AllowedOrigins are the origins, besides the source URL's own, that a
	// network source's playlists, variant playlists, keys and redirects may
	// make it fetch from: exact origins, at any address, or patterns
	// (https://*.cdn.example), at public addresses only (see ParseOrigin).
	// Default none: a source fetches only from its own origin.
	AllowedOrigins []Origin
	// Decode is which frames a libav source decodes. Default DecodeAll;
	// WHEP sources decode every frame.
	Decode DecodeMode
	// Judge says, in DecodeAuto, which keyframes show something new. Without
	// one, DecodeAuto decodes keyframes only (but still falls back to every
	// frame when keyframes are far apart).
	Judge KeyframeJudge
	// SampleInterval is the media time between the frames the consumer
	// samples. Default 1s. DecodeAuto decodes densely enough around a new
	// keyframe to hand on a frame at each multiple of it, and decodes every
	// frame when keyframes come more than twice it apart; a live source
	// whose reading falls more than twice it behind the live edge decodes
	// keyframes only and skips the rest until it has caught up.
	SampleInterval time.Duration
	// FramesSkipped, if not nil, counts the frames of a live source skipped
	// undecoded to catch up with the live edge.
	FramesSkipped prometheus.Counter
	// DecodeSlots, when not nil, is shared by a process's sources: a live
	// one decodes a packet only while it holds a slot (see DecodeSlots).
	DecodeSlots DecodeSlots
}

const defaultTimeout = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = defaultTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = defaultTimeout
	}
	if o.SampleInterval <= 0 {
		o.SampleInterval = time.Second
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
	// Orientation is the stream's display matrix as a turn and a mirror:
	// Width and Height are the decoded picture's, and a phone's portrait
	// video is often stored as landscape pictures with Rotate90 or Rotate270.
	Orientation Orientation
	// StartWall is the wall-clock time of media time 0. With Options.MediaClock it is the
	// container's creation_time, else a local file's modification time, else the time
	// of Open; without MediaClock it is the time of Open.
	StartWall time.Time
	// Duration is the input's length as its container tells it; 0 when
	// unknown (live streams, containers that do not say).
	Duration time.Duration
}

// Source is an opened input. Open it, call Run once, then Close.
type Source struct {
	in   input
	opts Options
	log  *slog.Logger
	info Info

	// C objects, freed by Close.
	fc           *astiav.FormatContext
	opened       bool // fc holds an open input (avformat_close_input, not avformat_free_context)
	videoDecoder      // the decoder of stream streamIndex, its packet, frame and clock

	intr        *interrupter // kept referenced: libav holds a pointer into it
	guard       *guard       // a network input's origin checks; nil for a local file
	pin         runtime.Pinner
	streamIndex int

	runGuard
	readSince atomic.Int64 // unix nanos when the pending read started, 0 when none
	packets   atomic.Int64 // video packets read, for Packets

	kf keyframer // keyframe-first decoding (keyframes.go)

	// Run state.
	paceStart  time.Time
	pacer      *time.Timer
	badPackets int // corrupt packets skipped, in all
	badInARow  int // corrupt packets skipped since the last good frame
	// lastSendErr is what the decoder said of the last packet sent to it:
	// a file whose last packet it rejects was cut short (see drain).
	lastSendErr error
	// atEdge: the last read waited for input (a live source naps before
	// the next: edgeNap).
	atEdge      bool
	edgeWaits   int // reads that waited for input, in all
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
		_ = s.Close() // frees what open allocated; a Source's Close never fails
		return nil, fmt.Errorf("open %s: %w", in.redacted, err)
	}
	s.log.Info("source opened", "url", in.redacted, "format", s.fc.InputFormat().Name(),
		"codec", s.info.Codec, "width", s.info.Width, "height", s.info.Height,
		"fps", s.info.FrameRate, "live", s.info.Live, "orientation", s.info.Orientation)
	return s, nil
}

// Info describes the source as opened.
func (s *Source) Info() Info { return s.info }

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
	s.free()
	s.kf.free()
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
	if s.guard != nil {
		s.guard.close()
	}
	s.pin.Unpin()
	return nil
}
