package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// Sample builder limits: how long a gap in the sequence numbers is waited for (NACK
// may fill it) before the incomplete frame is given up.
const (
	sampleMaxLatePackets = 512
	sampleMaxLateTime    = 400 * time.Millisecond
)

// rtpDecoder turns the RTP packets of one video track into decoded frames: the
// sample builder reorders packets and reassembles access units (Annex B for H.264),
// libav decodes them. It is used by one goroutine.
type rtpDecoder struct {
	opts   Options
	sb     *samplebuilder.SampleBuilder
	unwrap rtpUnwrapper
	start  time.Time // Frame.Wall of media time 0 with Options.MediaClock
	videoDecoder

	needKeyframe bool // a sample was lost or undecodable since the last keyframe
	frames       int  // frames decoded
	badSamples   int  // samples the decoder rejected
	lostSamples  int  // samples that followed lost packets
}

func newRTPDecoder(codec webrtc.RTPCodecParameters, opts Options) (*rtpDecoder, error) {
	var (
		depack rtp.Depacketizer
		id     astiav.CodecID
	)
	switch strings.ToLower(codec.MimeType) {
	case strings.ToLower(webrtc.MimeTypeH264):
		depack, id = &codecs.H264Packet{}, astiav.CodecIDH264
	case strings.ToLower(webrtc.MimeTypeVP8):
		depack, id = &codecs.VP8Packet{}, astiav.CodecIDVp8
	default:
		return nil, fmt.Errorf("%w %s", ErrUnsupportedCodec, codec.MimeType)
	}
	rate := codec.ClockRate
	if rate == 0 {
		rate = 90000
	}
	d := &rtpDecoder{
		opts:         opts,
		sb:           samplebuilder.New(sampleMaxLatePackets, depack, rate, samplebuilder.WithMaxTimeDelay(sampleMaxLateTime)),
		videoDecoder: videoDecoder{clock: mediaClock{tb: astiav.NewRational(1, int(rate)), frameMS: 33}},
		needKeyframe: true,
		start:        time.Now(),
	}
	err := d.openDecoder(id, func(cc *astiav.CodecContext) error {
		// One thread and low delay: frame threading would hold frames back, and a WebRTC
		// picture is small.
		cc.SetThreadCount(1)
		cc.SetFlags(astiav.NewCodecContextFlags(astiav.CodecContextFlagLowDelay))
		cc.SetTimeBase(d.clock.tb)
		return nil
	})
	if err != nil {
		d.free()
		return nil, err
	}
	return d, nil
}

// push adds one RTP packet and decodes the samples it completes, calling deliver for
// each frame (its error is returned as is).
func (d *rtpDecoder) push(p *rtp.Packet, deliver func(Frame) error) error {
	d.sb.Push(p)
	for s := d.sb.Pop(); s != nil; s = d.sb.Pop() {
		if err := d.decode(s, deliver); err != nil {
			return err
		}
	}
	return nil
}

func (d *rtpDecoder) decode(s *media.Sample, deliver func(Frame) error) error {
	ts := d.unwrap.unwrap(s.PacketTimestamp)
	if s.PrevDroppedPackets > 0 {
		// Frames referring to what was lost decode into smears until the next keyframe.
		d.lostSamples++
		d.needKeyframe = true
	}
	if len(s.Data) == 0 {
		return nil
	}
	if err := d.pkt.FromData(s.Data); err != nil {
		return fmt.Errorf("ingest: packet: %w", err)
	}
	d.pkt.SetPts(ts)
	err := d.cc.SendPacket(d.pkt)
	d.pkt.Unref()
	if err != nil && !errors.Is(err, astiav.ErrEagain) {
		d.badSamples++
		d.needKeyframe = true
		return nil
	}
	for {
		err := d.cc.ReceiveFrame(d.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			d.badSamples++
			d.needKeyframe = true
			return nil
		}
		d.frames++
		if d.frame.KeyFrame() {
			d.needKeyframe = false
		}
		err = d.deliver(deliver)
		d.frame.Unref()
		if err != nil {
			return err
		}
	}
}

func (d *rtpDecoder) deliver(deliver func(Frame) error) error {
	ms, _ := d.mediaTime()
	return deliver(d.decoded(ms, d.start, d.opts))
}

// rtpUnwrapper extends 32-bit RTP timestamps to int64, counting from the first: a
// step is read as the shorter way round, so wrapping at 2^32 keeps counting up and a
// reordered timestamp goes slightly back (mediaClock then clamps it).
type rtpUnwrapper struct {
	last    uint32
	ext     int64
	started bool
}

func (u *rtpUnwrapper) unwrap(ts uint32) int64 {
	if !u.started {
		u.started, u.last = true, ts
		return 0
	}
	u.ext += int64(int32(ts - u.last))
	u.last = ts
	return u.ext
}
