package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
)

// Run decodes the source and calls handle for each frame, in order, on the calling
// goroutine. The frame's AV is valid only during the call. Run returns nil at the end
// of the input, ctx.Err() when ctx ends, handle's error as is, or a wrapped read or
// decode error (ErrTimeout when a read stalls). Corrupt packets are skipped (up to
// 100 in a row). Run may be called once; handle must not call Close.
func (s *Source) Run(ctx context.Context, handle func(Frame) error) error {
	if err := s.beginRun(s.in.redacted); err != nil {
		return err
	}
	defer s.runMu.Unlock()
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
		if s.atEdge && s.info.Live {
			if err := s.nap(ctx); err != nil {
				return err
			}
		}
		readStart := time.Now()
		s.readSince.Store(readStart.UnixNano())
		err := s.fc.ReadFrame(s.pkt)
		s.readSince.Store(0)
		s.atEdge = time.Since(readStart) > edgeWait
		if s.atEdge {
			s.edgeWaits++
		}
		s.kf.waited = s.atEdge
		if err != nil {
			// An interrupted read may surface as EOF: check for our interrupt first.
			if s.intr.cause() != nil || !errors.Is(err, astiav.ErrEof) {
				return fmt.Errorf("read %s: %w", s.in.redacted, s.interruptErr(ctx, "read frame", err))
			}
			if err := s.finishKeyframes(ctx, handle); err != nil {
				return err
			}
			return s.drain(ctx, handle)
		}
		if s.pkt.StreamIndex() != s.streamIndex {
			s.pkt.Unref()
			continue
		}
		s.packets.Add(1)
		if err := s.packet(ctx, handle); err != nil {
			return err
		}
	}
}

// edgeNap is how long a live source at its edge lets input gather before
// it reads again: a read that waits for each packet wakes the stream's
// thread with each one, and at 40 streams the worker switched threads
// 9,400 times a second (perf: a tenth of its CPU in the kernel's
// finish_task_switch). What comes in meanwhile is read from the socket's
// buffer without waiting; the lag it adds (up to edgeNap) is measured as
// any other (the lag meter counts from the read that waited).
const edgeNap = 200 * time.Millisecond

// nap waits edgeNap, or until ctx ends.
func (s *Source) nap(ctx context.Context) error { return after(ctx, edgeNap, nil) }

// after waits d and returns nil, or returns ctx's error if it ends first,
// or ErrClosed if closed is closed first (a nil closed never is).
func after(ctx context.Context, d time.Duration, closed <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
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
// A flush that fails on corrupt data (the last packets of a cut-off file) is
// asked again until the decoder takes it: the frames it holds after the bad
// packet are still handed on, and then the failure is returned.
func (s *Source) drain(ctx context.Context, handle func(Frame) error) error {
	var flushErr error
	flushed := false
	for attempt := 0; ; attempt++ {
		if !flushed {
			err := s.cc.SendPacket(nil)
			switch {
			case err == nil || errors.Is(err, astiav.ErrEof):
				flushed = true
			case errors.Is(err, astiav.ErrInvaliddata) && attempt < maxBadPackets:
				if flushErr == nil {
					flushErr = err
				}
			default:
				return fmt.Errorf("decode %s: ingest: flush decoder: %w", s.in.redacted, err)
			}
		}
		eof, err := s.receive(ctx, handle)
		if err != nil {
			return err
		}
		if eof {
			break
		}
	}
	if flushErr != nil {
		return fmt.Errorf("decode %s: ingest: flush decoder: %w", s.in.redacted, flushErr)
	}
	// A file decoded on one thread says that it was cut short when its
	// last packet is sent (with frame threads, when the decoder is flushed):
	// that packet's rejection, tolerated as corrupt data along the way, ends
	// the file with the error all the same.
	if s.lastSendErr != nil && !s.in.network {
		return fmt.Errorf("decode %s: ingest: send packet: %w", s.in.redacted, s.lastSendErr)
	}
	return nil
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
		count(s.opts.FramesDecoded)
		err = s.deliverFrame(ctx, handle, s.frame)
		s.frame.Unref()
		if err != nil {
			return false, err
		}
	}
}

// deliverFrame hands the decoded frame f on, at its time when pacing. When
// decoding keyframes first, a frame not after the last one handed on (a
// keyframe decoded again, with the GOP it opens) is not handed on again.
func (s *Source) deliverFrame(ctx context.Context, handle func(Frame) error, f *astiav.Frame) error {
	if s.kf.mode != DecodeAll && s.kf.handed && s.peekMS(f) <= s.kf.lastMS {
		return nil
	}
	ms, ev := s.mediaTimeOf(f)
	switch ev {
	case clockClamped, clockRebased:
		s.clampEvents++
		s.log.Debug("timestamp discontinuity", "url", s.in.redacted, "rebased", ev == clockRebased,
			"media_ms", ms)
	}
	s.kf.lastMS, s.kf.handed = ms, true
	if s.opts.Realtime {
		if err := s.pace(ctx, ms); err != nil {
			return err
		}
	}
	return handle(s.frameOf(f, ms, s.info.StartWall, s.opts))
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
