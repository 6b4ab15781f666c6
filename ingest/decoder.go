package ingest

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus"
)

// videoDecoder is a libav video decoder with the packet and frame it decodes
// through, and the clock that turns the frames' timestamps into media time.
// The libav Source and the WebRTC decoder both decode through one; it is used
// by one goroutine, and its owner frees it.
type videoDecoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
	clock mediaClock
	// orient is the stream's orientation, for frames without a display
	// matrix of their own.
	orient Orientation
}

// openDecoder opens a decoder for id, set up by setup (parameters, threads)
// before it opens, and allocates the packet and frame. On error, what was
// allocated is left for free.
func (d *videoDecoder) openDecoder(id astiav.CodecID, setup func(*astiav.CodecContext) error) error {
	dec := astiav.FindDecoder(id)
	if dec == nil {
		return fmt.Errorf("%w for codec %s", ErrNoDecoder, id.Name())
	}
	if d.cc = astiav.AllocCodecContext(dec); d.cc == nil {
		return fmt.Errorf("%w: codec context", ErrAlloc)
	}
	if err := setup(d.cc); err != nil {
		return err
	}
	if err := d.cc.Open(dec, nil); err != nil {
		return fmt.Errorf("ingest: opening decoder %s: %w", dec.Name(), err)
	}
	return d.allocate()
}

// allocate allocates the packet and the frame.
func (d *videoDecoder) allocate() error {
	if d.pkt = astiav.AllocPacket(); d.pkt == nil {
		return fmt.Errorf("%w: packet", ErrAlloc)
	}
	if d.frame = astiav.AllocFrame(); d.frame == nil {
		return fmt.Errorf("%w: frame", ErrAlloc)
	}
	return nil
}

// mediaTime is the media time of the decoded frame, from its PTS or, without
// one, libav's best guess, and what the clock made of it.
func (d *videoDecoder) mediaTime() (int64, clockEvent) {
	ts := d.frame.Pts()
	if ts == astiav.NoPtsValue {
		ts = bestEffortTimestamp(d.frame)
	}
	return d.clock.at(ts)
}

// decoded is the Frame handed on for the decoded frame at media time ms, with
// wall-clock time now or, with Options.MediaClock, start plus ms; it counts
// the frame in opts.FramesDecoded.
func (d *videoDecoder) decoded(ms int64, start time.Time, opts Options) Frame {
	wall := time.Now()
	if opts.MediaClock {
		wall = start.Add(time.Duration(ms) * time.Millisecond)
	}
	count(opts.FramesDecoded)
	return Frame{AV: d.frame, MediaMS: ms, Wall: wall, Width: d.frame.Width(), Height: d.frame.Height(),
		Orientation: frameOrientation(d.frame, d.orient)}
}

// count increments c if there is one.
func count(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// free frees the decoder's C objects; it may be called again.
func (d *videoDecoder) free() {
	freeAV(&d.cc)
	freeAV(&d.pkt)
	freeAV(&d.frame)
}

// freeAV frees the libav object *p holds, if any, and forgets it.
func freeAV[T interface {
	comparable
	Free()
}](p *T) {
	var none T
	if *p != none {
		(*p).Free()
		*p = none
	}
}
