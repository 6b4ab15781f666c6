package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Run receives the video track, decodes it and calls handle for each frame, in order,
// on the calling goroutine; the frame's AV is valid only during the call. Run returns
// ctx.Err() when ctx ends, handle's error as is, ErrTimeout when no frame came for
// Options.ReadTimeout, ErrClosed after Close, nil when the sender ended the track, or
// a wrapped error when the connection fails. Lost packets and undecodable frames are
// skipped (and a keyframe asked for). Run may be called once; handle must not call Close.
func (s *whepStream) Run(ctx context.Context, handle func(Frame) error) error {
	if err := s.beginRun(s.redacted); err != nil {
		return err
	}
	defer s.runMu.Unlock()
	var handleErr error
	err := s.run(ctx, func(f Frame) error {
		handleErr = handle(f)
		return handleErr
	})
	switch {
	case err == nil:
		return nil
	case handleErr != nil && err == handleErr: //nolint:errorlint,err113 // identity: the handler's own error, not one that wraps it
		return err
	}
	return fmt.Errorf("read %s: %w", s.redacted, err)
}

// pliInterval is the least time between two keyframe requests.
const pliInterval = 500 * time.Millisecond

func (s *whepStream) run(ctx context.Context, handle func(Frame) error) error {
	watchdog := time.NewTimer(s.opts.ReadTimeout)
	defer watchdog.Stop()
	sctx, stop := s.sessionContext(ctx)
	defer stop()

	var track *webrtc.TrackRemote
	select {
	case track = <-s.tracks:
	case <-sctx.Done():
		return ended(ctx, sctx)
	case <-watchdog.C:
		return s.noFrames()
	}

	dec, err := newRTPDecoder(track.Codec(), s.opts)
	if err != nil {
		return err
	}
	defer dec.free()
	pli := s.keyframeAsker(uint32(track.SSRC()))
	pli("join")
	pkts, readErr, stopRead := readRTP(track)
	defer func() {
		if n := stopRead(); n > 0 || dec.badSamples > 0 || dec.lostSamples > 0 {
			s.log.Info("source ended", "url", s.redacted, "packets_dropped", n,
				"bad_samples", dec.badSamples, "samples_after_loss", dec.lostSamples)
		}
	}()

	keyframeTick := time.NewTicker(time.Second)
	defer keyframeTick.Stop()
	deliver := func(f Frame) error {
		if w, h := f.Width, f.Height; w != s.info.Width || h != s.info.Height {
			s.setSize(w, h) // Run's goroutine is the only writer
		}
		watchdog.Reset(s.opts.ReadTimeout)
		return handle(f)
	}
	for {
		select {
		case <-sctx.Done():
			return ended(ctx, sctx)
		case <-watchdog.C:
			return s.noFrames()
		case err := <-readErr:
			switch {
			case s.closed.Load():
				return ErrClosed
			case errors.Is(err, io.EOF):
				return nil
			}
			return fmt.Errorf("ingest: reading RTP: %w", err)
		case <-keyframeTick.C:
			if dec.needKeyframe {
				pli("waiting for keyframe")
			}
		case p := <-pkts:
			if err := dec.push(p, deliver); err != nil {
				return err
			}
			if dec.needKeyframe && dec.frames > 0 {
				pli("decode error or loss")
			}
		}
	}
}

// noFrames is the error of a session that handed on no frame for the read timeout.
func (s *whepStream) noFrames() error {
	return fmt.Errorf("%w: no frame for %s", ErrTimeout, s.opts.ReadTimeout)
}

// sessionContext returns a context that ends with ctx, with Close (cause
// ErrClosed) or with a failed connection (cause ErrWebRTCFailed), so that Run
// waits on one channel for all three; stop ends it and waits for its
// goroutine.
func (s *whepStream) sessionContext(ctx context.Context) (sctx context.Context, stop func()) {
	sctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-s.done:
			cancel(ErrClosed)
		case <-s.failed:
			cancel(ErrWebRTCFailed)
		case <-sctx.Done():
		}
	})
	return sctx, func() {
		cancel(nil)
		wg.Wait()
	}
}

// ended is why the session context sctx of ctx ended: ctx's own error when it
// ended (as Run documents), else the cause, ErrClosed or ErrWebRTCFailed.
func ended(ctx, sctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Cause(sctx)
}

// keyframeAsker returns a function that asks the sender of ssrc for a keyframe
// (a PLI), at most once per pliInterval.
func (s *whepStream) keyframeAsker(ssrc uint32) func(reason string) {
	var lastPLI time.Time
	return func(reason string) {
		if time.Since(lastPLI) < pliInterval {
			return
		}
		lastPLI = time.Now()
		if err := s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			s.log.Debug("sending PLI", "url", s.redacted, "err", err)
			return
		}
		s.log.Debug("asked for a keyframe", "url", s.redacted, "reason", reason)
	}
}

// readRTP reads the packets of track in a goroutine of its own, until a read
// fails (the error goes to readErr) or stop is called; stop waits for it and
// returns how many packets were dropped. The reader never blocks pion:
// packets beyond what the decoder keeps up with are dropped (and the decoder
// then asks for a keyframe).
func readRTP(track *webrtc.TrackRemote) (pkts <-chan *rtp.Packet, readErr <-chan error, stop func() int64) {
	out := make(chan *rtp.Packet, 1024)
	errs := make(chan error, 1)
	stopRead := make(chan struct{})
	var dropped atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			p, _, err := track.ReadRTP()
			if err != nil {
				errs <- err
				return
			}
			select {
			case out <- p:
			case <-stopRead:
				return
			default:
				dropped.Add(1)
			}
		}
	})
	return out, errs, func() int64 {
		close(stopRead)
		// Unblocks ReadRTP unless Close did already; an error means the
		// track is closed, which unblocks it too.
		_ = track.SetReadDeadline(time.Now())
		wg.Wait()
		return dropped.Load()
	}
}
