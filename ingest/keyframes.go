package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// maxGOPPackets bounds the packets kept for one GOP, whatever its media
// time: beyond it a source is decoded frame by frame.
const maxGOPPackets = 1000

// keyframer is the state of keyframe-first decoding (DecodeAuto,
// DecodeKeyframes) and of catching up with a live edge. Only the
// goroutine that runs the Source touches it.
type keyframer struct {
	mode       DecodeMode
	intervalMS int64
	maxGapMS   int64 // keyframes further apart: decode every frame (DecodeAuto)
	codec      unsafe.Pointer

	// every is set once every frame is decoded: DecodeAll, or a source
	// whose keyframes are too far apart.
	every bool
	// gop holds references to the packets since the last keyframe's, that
	// one first (DecodeAuto): what to decode again when the next keyframe
	// is new. gopMS is the decoding time of its first.
	gop   []*astiav.Packet
	gopMS int64
	// firstMS is the decoding time of the first packet, while none was a
	// keyframe (haveFirst).
	firstMS   int64
	haveFirst bool
	// dense: the GOP is decoded as it comes, until a frame at or past
	// denseUntil is handed on.
	dense      bool
	denseUntil int64
	key        *astiav.Frame // the keyframe decoded alone, until handed on
	// discard: what the decoder discards of the packets it is sent
	// (sendDiscarding).
	discard discard
	// lastMS is the media time of the last frame handed on (handed).
	lastMS int64
	handed bool

	lag     lagMeter
	waited  bool  // the last read waited for input: reading was at the live edge
	behind  bool  // a live source catching up with its edge
	skipped int64 // frames skipped since behind
}

// setUp readies keyframe-first decoding for the opened decoder.
func (s *Source) setUpKeyframes() error {
	o := s.opts
	s.kf.mode = o.Decode
	s.kf.intervalMS = max(o.SampleInterval.Milliseconds(), 1)
	s.kf.maxGapMS = 2 * s.kf.intervalMS
	s.kf.every = o.Decode == DecodeAll
	p, err := codecContextPointer(s.cc)
	if err != nil {
		return err
	}
	s.kf.codec = p
	if s.kf.key = astiav.AllocFrame(); s.kf.key == nil {
		return fmt.Errorf("%w: frame", ErrAlloc)
	}
	return nil
}

// free frees the kept packets and the keyframe; it may be called again.
func (k *keyframer) free() {
	k.dropGOP()
	freeAV(&k.key)
}

// dropGOP frees the kept packets.
func (k *keyframer) dropGOP() {
	for _, p := range k.gop {
		p.Free()
	}
	k.gop = k.gop[:0]
}

// packetMS is the decoding time of s.pkt in milliseconds (its DTS, else its
// PTS), on the stream's time base from its own origin.
func (s *Source) packetMS() int64 {
	ts := s.pkt.Dts()
	if ts == astiav.NoPtsValue {
		ts = s.pkt.Pts()
	}
	if ts == astiav.NoPtsValue {
		return s.kf.lag.lastMS + s.clock.frameMS
	}
	return astiav.RescaleQ(ts, s.clock.tb, millisecond)
}

// packet decodes the video packet in s.pkt (and unreferences it) as the
// decode mode and the live edge want.
func (s *Source) packet(ctx context.Context, handle func(Frame) error) error {
	key := s.pkt.Flags().Has(astiav.PacketFlagKey)
	ms := s.packetMS()
	if s.info.Live {
		s.watchLag(ms, key)
	}
	if s.kf.behind && !key {
		s.pkt.Unref()
		s.kf.skipped++
		count(s.opts.FramesSkipped)
		return nil
	}
	if s.info.Live {
		release, err := s.opts.DecodeSlots.take(ctx)
		if err != nil {
			s.pkt.Unref()
			return err
		}
		defer release()
	}
	switch {
	case s.kf.behind:
		return s.keyAlone(ctx, handle)
	case s.kf.every:
		return s.decodeEvery(ctx, handle)
	case key:
		return s.keyPacket(ctx, handle)
	}
	return s.deltaPacket(ctx, handle, ms)
}

// decodeEvery sends s.pkt to the decoder and hands on what comes out.
func (s *Source) decodeEvery(ctx context.Context, handle func(Frame) error) error {
	err := s.sendPacket(s.pkt, true)
	s.pkt.Unref()
	if err != nil {
		return s.badData("send packet", err)
	}
	_, err = s.receive(ctx, handle)
	return err
}

// deltaPacket takes a packet that is no keyframe: it is kept for the GOP
// (DecodeAuto), and decoded now while the GOP is dense.
func (s *Source) deltaPacket(ctx context.Context, handle func(Frame) error, ms int64) error {
	k := &s.kf
	if len(k.gop) == 0 {
		// Nothing to decode it from: before the first keyframe, or keyframes only.
		s.pkt.Unref()
		if !k.haveFirst {
			k.firstMS, k.haveFirst = ms, true
		}
		if ms-k.firstMS > k.maxGapMS && !k.handed {
			return s.fallBack(ctx, handle, "no keyframe", ms-k.firstMS)
		}
		return nil
	}
	p := s.pkt.Clone()
	s.pkt.Unref()
	if p == nil {
		return fmt.Errorf("%w: packet", ErrAlloc)
	}
	k.gop = append(k.gop, p)
	if ms-k.gopMS > k.maxGapMS || len(k.gop) > maxGOPPackets {
		return s.fallBack(ctx, handle, "keyframes too far apart", ms-k.gopMS)
	}
	if !k.dense {
		return nil
	}
	if err := s.sendPacket(p, s.wantedDense(p)); err != nil {
		return s.badData("send packet", err)
	}
	if _, err := s.receive(ctx, handle); err != nil {
		return err
	}
	k.dense = !s.reached(k.denseUntil)
	return nil
}

// reached reports whether a frame at or past ms has been handed on.
func (s *Source) reached(ms int64) bool { return s.kf.handed && s.kf.lastMS >= ms }

// fallBack makes the source decode every frame from now on, beginning with
// the packets kept since the last keyframe.
func (s *Source) fallBack(ctx context.Context, handle func(Frame) error, why string, span int64) error {
	k := &s.kf
	s.log.Info("decoding every frame", "url", s.in.redacted, "reason", why,
		"span", time.Duration(span)*time.Millisecond, "limit", time.Duration(k.maxGapMS)*time.Millisecond)
	k.every = true
	if k.dense {
		// The decoder has had every packet since the keyframe already.
		k.dense = false
		k.dropGOP()
		return nil
	}
	defer k.dropGOP()
	return s.resend(ctx, handle, false)
}

// resend decodes the kept GOP again from its keyframe, from a reset
// decoder, handing on the frames after the last one handed on (only those a
// sample slot may take, if sampled); it leaves the decoder as it is, to go
// on with the packets that follow.
func (s *Source) resend(ctx context.Context, handle func(Frame) error, sampled bool) error {
	_, err := s.sendGOP(ctx, handle, sampled, func() bool { return false })
	return err
}

// sendGOP resets the decoder and sends it the kept GOP's packets, handing on
// the frames after the last one handed on (if sampled, those a sample slot
// may take, and any frame others refer to), until done reports true after a
// packet (reached) or the GOP ends.
func (s *Source) sendGOP(ctx context.Context, handle func(Frame) error, sampled bool, done func() bool) (reached bool, err error) {
	flushBuffers(s.kf.codec)
	wanted := s.wantedFrames(sampled)
	// No frame a slot takes refers to a packet after the last wanted one (a
	// reference comes before its referrer in decoding order): those are sent
	// to be discarded whole, still split into units, so that the damage of
	// a file cut short there fails as if they were decoded.
	last := len(wanted) - 1
	for last > 0 && !wanted[last] {
		last--
	}
	for i, p := range s.kf.gop {
		d := discardNone
		switch {
		case i > last:
			d = discardAll
		case !wanted[i]:
			d = discardNonRef
		}
		if err := s.sendDiscarding(p, d); err != nil {
			if err := s.badData("send packet", err); err != nil {
				return false, err
			}
			continue
		}
		if _, err := s.receive(ctx, handle); err != nil {
			return false, err
		}
		if done() {
			return true, nil
		}
	}
	return false, nil
}

// keyPacket takes a keyframe's packet: the GOP before ends, the keyframe is
// decoded alone and judged, the GOP before is decoded if the keyframe is
// new (and it was not), and the GOP the keyframe opens is decoded densely
// if so (unless the frame decoded again before it shows what is new), else
// kept for the next keyframe.
func (s *Source) keyPacket(ctx context.Context, handle func(Frame) error) error {
	k := &s.kf
	kp := s.pkt.Clone()
	s.pkt.Unref()
	if kp == nil {
		return fmt.Errorf("%w: packet", ErrAlloc)
	}
	if k.dense {
		// The frames of the GOP that the decoder still holds back.
		if err := s.drainDecoder(ctx, handle); err != nil {
			kp.Free()
			return err
		}
		k.dense = false
	}
	ok, err := s.decodeAlone(kp)
	if err != nil || !ok {
		k.dropGOP()
		if k.mode == DecodeAuto && err == nil {
			k.gop, k.gopMS = append(k.gop, kp), s.packetTime(kp)
		} else {
			kp.Free()
		}
		return err
	}
	keyMS := s.peekMS(k.key)
	change := KeyframeSame
	if k.mode == DecodeAuto && s.opts.Judge != nil {
		change = s.opts.Judge.Judge(s.frameOf(k.key, keyMS, s.info.StartWall, s.opts))
	}
	shown := false
	if target := floorDiv(keyMS-1, k.intervalMS) * k.intervalMS; change != KeyframeSame && len(k.gop) > 1 && !s.reached(target) {
		if shown, err = s.redecode(ctx, handle, target, change == KeyframeNew); err != nil {
			kp.Free()
			return err
		}
	}
	k.dropGOP()
	err = s.deliverFrame(ctx, handle, k.key)
	k.key.Unref()
	if err != nil || k.mode != DecodeAuto {
		kp.Free()
		return err
	}
	k.gop, k.gopMS = append(k.gop, kp), s.packetTime(kp)
	if change != KeyframeNew || shown {
		return nil
	}
	k.dense, k.denseUntil = true, s.nextSample(keyMS)
	if err := s.sendPacket(kp, true); err != nil {
		k.dense = false
		return s.badData("send packet", err)
	}
	_, err = s.receive(ctx, handle)
	return err
}

// nextSample is the first multiple of the sample interval after ms.
func (s *Source) nextSample(ms int64) int64 {
	return (floorDiv(ms, s.kf.intervalMS) + 1) * s.kf.intervalMS
}

// packetTime is packetMS for a kept packet.
func (s *Source) packetTime(p *astiav.Packet) int64 {
	ts := p.Dts()
	if ts == astiav.NoPtsValue {
		ts = p.Pts()
	}
	if ts == astiav.NoPtsValue {
		return s.kf.lag.lastMS
	}
	return astiav.RescaleQ(ts, s.clock.tb, millisecond)
}

// keyAlone decodes the keyframe in s.pkt alone and hands it on: keyframes
// only, as while catching up with a live edge.
func (s *Source) keyAlone(ctx context.Context, handle func(Frame) error) error {
	ok, err := s.decodeAlone(s.pkt)
	s.pkt.Unref()
	if err != nil || !ok {
		return err
	}
	err = s.deliverFrame(ctx, handle, s.kf.key)
	s.kf.key.Unref()
	return err
}

// decodeAlone decodes the keyframe p alone, from a reset decoder, into
// s.kf.key; ok is false when the decoder made nothing of it (corrupt data,
// skipped as such). The decoder is left reset.
func (s *Source) decodeAlone(p *astiav.Packet) (ok bool, err error) {
	k := &s.kf
	flushBuffers(k.codec)
	defer flushBuffers(k.codec)
	if err := s.sendPacket(p, true); err != nil {
		return false, s.badData("send packet", err)
	}
	if err := s.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return false, s.badData("flush decoder", err)
	}
	for {
		f := k.key
		if ok {
			f = s.frame // a second picture of one packet: not wanted
		}
		err := s.cc.ReceiveFrame(f)
		if errors.Is(err, astiav.ErrEof) || errors.Is(err, astiav.ErrEagain) {
			return ok, nil
		}
		if err != nil {
			return false, s.badData("receive frame", err)
		}
		count(s.opts.FramesDecoded)
		if ok {
			s.frame.Unref()
		}
		ok = true
		s.badInARow = 0
	}
}

// redecode decodes the kept GOP again from its keyframe, handing on the
// frames after the last one handed on, until one at or past target is
// handed on (or the GOP ends). With news, the judge is asked whether that
// frame shows what made the keyframe new (shown). The decoder is left reset.
func (s *Source) redecode(ctx context.Context, handle func(Frame) error, target int64, news bool) (shown bool, err error) {
	defer flushBuffers(s.kf.codec)
	if news {
		next := handle
		handle = func(f Frame) error {
			if news && f.MediaMS >= target {
				news, shown = false, s.opts.Judge.Shows(f)
			}
			return next(f)
		}
	}
	reached, err := s.sendGOP(ctx, handle, true, func() bool { return s.reached(target) })
	if err != nil || reached {
		return shown, err
	}
	return shown, s.drainDecoder(ctx, handle)
}

// drainDecoder hands on the frames the decoder holds back and resets it.
func (s *Source) drainDecoder(ctx context.Context, handle func(Frame) error) error {
	defer flushBuffers(s.kf.codec)
	if err := s.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return s.badData("flush decoder", err)
	}
	for range maxBadPackets + 1 {
		eof, err := s.receive(ctx, handle)
		if err != nil || eof {
			return err
		}
	}
	return nil
}

// finishKeyframes decodes, at the end of the input, what keyframe-first
// decoding still owes, leaving the decoder to the final drain (whose error,
// for a file cut short, ends Run as with every frame decoded): in
// DecodeAuto, the rest of the last GOP, which no keyframe follows to judge
// it by. DecodeKeyframes decodes nothing past the last keyframe.
func (s *Source) finishKeyframes(ctx context.Context, handle func(Frame) error) error {
	k := &s.kf
	defer k.dropGOP()
	if k.every || k.codec == nil || k.mode != DecodeAuto || len(k.gop) < 2 || k.dense {
		// Nothing kept, or the decoder has had every packet of the GOP.
		return nil
	}
	return s.resend(ctx, handle, true)
}

// watchLag measures how far a live source's reading lags its edge, at a
// packet decoded at ms: past twice the sample interval it decodes
// keyframes only and skips the rest; it goes back to its mode at a
// keyframe once the lag is under half that.
func (s *Source) watchLag(ms int64, key bool) {
	k := &s.kf
	lag := k.lag.at(time.Now(), ms, k.waited)
	limit := time.Duration(k.maxGapMS) * time.Millisecond
	switch {
	case !k.behind && lag > limit:
		k.behind, k.dense = true, false
		k.dropGOP()
		s.log.Warn("behind the live edge: decoding keyframes only, skipping the rest", "url", s.in.redacted,
			"lag", lag.Round(time.Millisecond), "limit", limit)
	case k.behind && key && lag < limit/2:
		k.behind = false
		s.log.Info("caught up with the live edge", "url", s.in.redacted, "lag", lag.Round(time.Millisecond),
			"skipped_frames", k.skipped)
		k.skipped = 0
	}
}

// edgeWait is how long a read must wait for input to show that reading is
// at the live edge: a read from what the network has buffered takes far less.
const edgeWait = 10 * time.Millisecond

// lagMeter measures how far reading a live stream lags its edge:
// wall-clock minus media time grows by what reading falls behind, so its
// growth since the last read that had to wait for input (reading was at the
// edge then) is the lag. Delivery in bursts (HLS segments, a server's GOP
// cache) does not count: the reads between bursts wait. A jump in the
// timestamps starts it afresh.
type lagMeter struct {
	least  int64 // least wall-clock ms minus media ms since reading was at the edge
	lastMS int64
	have   bool
}

// at returns the lag of a packet at media time ms read at now, after a
// read that waited for input (or not).
func (l *lagMeter) at(now time.Time, ms int64, waited bool) time.Duration {
	v := now.UnixMilli() - ms
	if !l.have || waited || ms < l.lastMS-maxBackStepMS || ms > l.lastMS+maxForwardStepMS || v < l.least {
		l.least, l.have = v, true
	}
	l.lastMS = ms
	return time.Duration(v-l.least) * time.Millisecond
}

// floorDiv is a/b rounded towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
