package ingest

import "github.com/asticode/go-astiav"

// While keyframe-first decoding decodes a GOP only to reach the frames its
// consumer samples (the first at or after each multiple of the sample
// interval), the frames between them are of no use but as references: a
// packet whose frame no sample slot takes is sent for the decoder to
// discard when no other frame refers to it (AVDISCARD_NONREF: a
// non-reference B-frame, mostly). The frames handed on at the sample
// slots are the same, to the pixel, as when every frame is decoded; the
// choice depends on the packets' timestamps alone.

// sendPacket sends p to the decoder, to be discarded if no other frame
// refers to it unless wanted.
func (s *Source) sendPacket(p *astiav.Packet, wanted bool) error {
	d := discardNone
	if !wanted {
		d = discardNonRef
	}
	return s.sendDiscarding(p, d)
}

// sendDiscarding sends p to the decoder, to be discarded as d says.
func (s *Source) sendDiscarding(p *astiav.Packet, d discard) error {
	k := &s.kf
	if d != k.discard && k.codec != nil {
		skipFrames(k.codec, d)
		k.discard = d
	}
	err := s.cc.SendPacket(p)
	s.lastSendErr = err
	return err //nolint:wrapcheck // the callers wrap it (badData)
}

// frameMS is the media time the clock would give the frame in packet p,
// from its PTS; ok is false without one.
func (s *Source) frameMS(p *astiav.Packet) (ms int64, ok bool) {
	pts := p.Pts()
	if pts == astiav.NoPtsValue {
		return 0, false
	}
	c := s.clock
	ms, _ = c.at(pts)
	return ms, true
}

// wantedFrames reports, for each packet of the kept GOP, whether its frame
// is wanted: every one unless sampled, else those a sample slot may take,
// the GOP's first frame and, in each slot, the earliest frame of the GOP
// there (a packet without a PTS is wanted).
func (s *Source) wantedFrames(sampled bool) []bool {
	k := &s.kf
	want := make([]bool, len(k.gop))
	if !sampled {
		for i := range want {
			want[i] = true
		}
		return want
	}
	ms := make([]int64, len(k.gop))
	earliest := make(map[int64]int, 4) // slot -> index of its earliest frame
	for i, p := range k.gop {
		t, ok := s.frameMS(p)
		if !ok || i == 0 {
			want[i] = true
			continue
		}
		ms[i] = t
		slot := floorDiv(t, k.intervalMS)
		if j, seen := earliest[slot]; !seen || t < ms[j] {
			earliest[slot] = i
		}
	}
	for _, i := range earliest {
		want[i] = true
	}
	return want
}

// wantedDense reports whether a sample slot may take the frame of packet p
// while the GOP a new keyframe opens is decoded densely: the frames before
// denseUntil share the keyframe's slot, which the keyframe took.
func (s *Source) wantedDense(p *astiav.Packet) bool {
	ms, ok := s.frameMS(p)
	return !ok || ms >= s.kf.denseUntil
}
