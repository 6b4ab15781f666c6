package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Stream is an opened source of decoded frames: a libav input (*Source) or a
// WebRTC (WHEP) session.
type Stream interface {
	Info() Info
	// Run decodes until the end of the stream (nil), ctx ends (ctx.Err()), a
	// read or decode error, or handle's error (returned as is).
	Run(ctx context.Context, handle func(Frame) error) error
	// Close frees everything the stream holds; safe to call twice.
	Close() error
}

var _ Stream = (*Source)(nil)

// PacketCounter is a Stream that counts the packets of its video it has
// read: the no-frame watchdog takes packets still coming in for a source
// alive but slow to decode (a loaded worker), not a dead one.
type PacketCounter interface {
	Packets() int64
}

var _ PacketCounter = (*Source)(nil)

// Packets is the number of video packets read so far.
func (s *Source) Packets() int64 { return s.packets.Load() }

// WHEPPrefixes mark WebRTC-HTTP egress (WHEP, RFC 9725) endpoints:
// "whep+https://host/path" is the WHEP endpoint https://host/path.
var WHEPPrefixes = []string{"whep+http://", "whep+https://"}

// IsWHEP reports whether url names a WHEP endpoint.
func IsWHEP(url string) bool {
	for _, p := range WHEPPrefixes {
		if len(url) >= len(p) && strings.EqualFold(url[:len(p)], p) {
			return true
		}
	}
	return false
}

// OpenStream opens url: a WHEP endpoint through WebRTC, anything else
// through libav (see Open).
func OpenStream(ctx context.Context, url string, opts Options) (Stream, error) {
	if IsWHEP(url) {
		return openWHEP(ctx, url, opts)
	}
	return Open(ctx, url, opts)
}

// runGuard is the lifecycle both kinds of Stream share: Run may be called
// once, and not after Close; Close waits for Run through runMu.
type runGuard struct {
	runMu  sync.Mutex // held by Run, and by Close while it frees
	ran    bool
	closed atomic.Bool
}

// beginRun takes runMu for Run, or returns why Run may not go on (ErrClosed,
// ErrRunTwice) naming the redacted input. The caller unlocks runMu once Run
// is done.
func (r *runGuard) beginRun(redacted string) error {
	r.runMu.Lock()
	var err error
	switch {
	case r.closed.Load():
		err = ErrClosed
	case r.ran:
		err = ErrRunTwice
	default:
		r.ran = true
		return nil
	}
	r.runMu.Unlock()
	return fmt.Errorf("read %s: %w", redacted, err)
}
