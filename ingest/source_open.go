package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
)

// open checks a local path, opens the input and a decoder for its best video
// stream, and describes it in s.info.
func (s *Source) open(ctx context.Context) error {
	mtime, err := s.statLocal()
	if err != nil {
		return err
	}
	openedAt := time.Now()
	if err := s.openInput(ctx); err != nil {
		return err
	}
	st, err := bestVideoStream(s.fc)
	if err != nil {
		return err
	}
	s.streamIndex = st.Index()
	cp := st.CodecParameters()
	err = s.openDecoder(cp.CodecID(), func(cc *astiav.CodecContext) error {
		if err := cp.ToCodecContext(cc); err != nil {
			return fmt.Errorf("ingest: codec parameters: %w", err)
		}
		// One thread: a worker's streams share the cores, and each frame
		// thread holds decoder state and frames of its own (memory per
		// stream). A file too: keyframe-first decoding hands the decoder
		// one keyframe at a time, from a reset decoder, which a second
		// frame thread only makes dearer (bench clip replay 2.03 -> 1.94
		// CPU-s, the same wall time); a replay's files and streams run side
		// by side.
		cc.SetThreadCount(1)
		cc.SetThreadType(astiav.ThreadTypeFrame)
		return nil
	})
	if err != nil {
		return err
	}
	s.describe(st, openedAt, mtime)
	return s.setUpKeyframes()
}

// statLocal checks that a local input is a file and returns its modification
// time; for a network input it returns the zero time.
func (s *Source) statLocal() (time.Time, error) {
	if s.in.network {
		return time.Time{}, nil
	}
	fi, err := os.Stat(s.in.path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return time.Time{}, fmt.Errorf("ingest: %w", err)
	}
	if fi.IsDir() {
		return time.Time{}, ErrIsDirectory
	}
	return fi.ModTime(), nil
}

// openInput opens the input with the options of inputOptions, under the
// opening watchdog, and reads its stream info.
func (s *Source) openInput(ctx context.Context) error {
	if s.fc = astiav.AllocFormatContext(); s.fc == nil {
		return fmt.Errorf("%w: format context", ErrAlloc)
	}
	// Must be set before OpenInput: libav copies the callback into every nested I/O context.
	ii := s.fc.SetInterruptCallback()
	// go-astiav stores a pointer to the Go-allocated flag in the C context; pin it for
	// as long as libav may read it (cgo rules; the store itself trips GOEXPERIMENT=cgocheck2).
	s.pin.Pin(ii)
	s.intr = newInterrupter(ii)
	if s.in.network {
		s.guard = newGuard(s.in, s.opts.AllowedOrigins, s.intr.trigger, s.log)
		if err := s.guard.install(s.fc); err != nil {
			return err
		}
	}

	d, err := s.inputOptions()
	if err != nil {
		return err
	}
	defer d.Free()
	stop := s.watchOpen(ctx)
	err = s.fc.OpenInput(s.in.ffURL, nil, d)
	if err == nil {
		s.opened = true
		err = s.fc.FindStreamInfo(nil)
		if err != nil {
			err = s.interruptErr(ctx, "find stream info", err)
		} else if cause := s.intr.cause(); isRefusal(cause) {
			// libav probes past a segment it could not open.
			err = cause
		}
	} else {
		err = s.interruptErr(ctx, "open input", err)
		if ue := s.guard.upstreamErr(); ue != nil && errors.Is(err, astiav.ErrHttpServerError) {
			// The proxy answered 502: say what it met.
			err = fmt.Errorf("ingest: open input: %w", ue)
		}
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
	return nil
}

// inputOptions are the options libav opens the input with: the protocol and
// demuxer allowlists, and for a network input its timeouts and probing.
func (s *Source) inputOptions() (*astiav.Dictionary, error) {
	protocols := localProtocols
	if s.in.network {
		protocols = networkProtocols
	}
	opts := [][2]string{{"protocol_whitelist", protocols}, {"format_whitelist", formatWhitelist}}
	if s.in.network {
		us := strconv.FormatInt(s.opts.ReadTimeout.Microseconds(), 10)
		// rw_timeout is the generic URLContext option (tcp, tls, http, rtmp inherit it).
		opts = append(opts, [2]string{"rw_timeout", us})
		// udp and srt have their own microsecond "timeout". Never set "timeout" for
		// rtmp: there it means "listen for incoming connections".
		if s.in.scheme == "udp" || s.in.scheme == "srt" {
			opts = append(opts, [2]string{"timeout", us})
		}
		// Probe less than libav's 5 MB / 5 s: a live stream's parameters are known
		// after a keyframe, and every probed second is a second of alert latency
		// (and of blindness after a worker takes a stream over). Half a second:
		// opening an RTMP stream with a 2 s GOP from nginx took 2.0 s, against
		// 4.0 s with 2 s of analysis.
		// (Not fflags=nobuffer: it throws away the packets read while probing, so
		// the first seconds of a stream would go unwatched; decoding the probed
		// packets catches up with the live edge in a fraction of a second.)
		opts = append(opts, [2]string{"probesize", "1000000"}, [2]string{"analyzeduration", "500000"})
		if s.in.scheme == "rtsp" || s.in.scheme == "rtsps" {
			// Interleaved TCP first: UDP is often filtered between a platform and its workers.
			opts = append(opts, [2]string{"rtsp_flags", "prefer_tcp"})
		}
	}
	d := astiav.NewDictionary()
	for _, kv := range opts {
		if err := d.Set(kv[0], kv[1], 0); err != nil {
			d.Free()
			return nil, fmt.Errorf("ingest: setting option %s: %w", kv[0], err)
		}
	}
	return d, nil
}

// describe fills in s.info and the media clock from the opened stream st.
func (s *Source) describe(st *astiav.Stream, openedAt, mtime time.Time) {
	cp := st.CodecParameters()
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
		Width:       cp.Width(),
		Height:      cp.Height(),
		FrameRate:   fps,
		Codec:       cp.CodecID().Name(),
		Live:        s.in.network && (liveSchemes[s.in.scheme] || s.fc.Duration() <= 0),
		StartWall:   openedAt,
		Orientation: streamOrientation(st),
		Duration:    containerDuration(s.fc, st),
	}
	s.orient = s.info.Orientation
	if s.opts.MediaClock {
		switch t, ok := creationTime(s.fc, st); {
		case ok:
			s.info.StartWall = t
		case !mtime.IsZero():
			s.info.StartWall = mtime
		}
	}
}

// containerDuration is the length of the opened input: its video stream's
// duration when the container tells it, else the container's (in
// AV_TIME_BASE, microseconds); 0 when neither is known (a live stream).
func containerDuration(fc *astiav.FormatContext, st *astiav.Stream) time.Duration {
	if d := st.Duration(); d > 0 {
		if tb := st.TimeBase(); tb.Num() > 0 && tb.Den() > 0 {
			return time.Duration(float64(d) * tb.Float64() * float64(time.Second))
		}
	}
	if d := fc.Duration(); d > 0 {
		return time.Duration(d) * time.Microsecond
	}
	return 0
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
