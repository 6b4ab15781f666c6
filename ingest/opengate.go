package ingest

import (
	"context"
	"time"
)

// OpenGate admits the opens of sources (first opens and reconnects) no
// faster than a process can serve them: at most n at once, the others wait
// their turn. Opening probes the stream and decodes its first frames, so
// many opens at once on a loaded worker all run past their timeout and are
// retried together — a reconnect storm; admitted a few at a time, each gets
// the CPU it needs. One gate is shared by all the streams of a process; a
// nil gate admits everything.
type OpenGate struct {
	slots chan struct{}
}

// NewOpenGate returns a gate that lets n opens (at least 1) run at once.
func NewOpenGate(n int) *OpenGate {
	return &OpenGate{slots: make(chan struct{}, max(n, 1))}
}

// enter waits for a slot; ctx.Err() if ctx ends first. The open timeout
// counts from the slot, not from the wait.
func (g *OpenGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave frees the slot enter took.
func (g *OpenGate) leave() {
	if g != nil {
		<-g.slots
	}
}

// packetsOnlyStalls is how many StallTimeouts a source may hand on packets
// but no frame before it counts as stalled all the same: packets that never
// decode are no stream.
const packetsOnlyStalls = 3

// packetWatch follows a source's packet count for the no-frame watchdog.
type packetWatch struct {
	src  PacketCounter // nil: the source does not count
	n    int64
	last time.Time // when n last grew
}

func newPacketWatch(src Stream) *packetWatch {
	w := &packetWatch{last: time.Now()}
	if pc, ok := src.(PacketCounter); ok {
		w.src, w.n = pc, pc.Packets()
	}
	return w
}

// since is how long ago the last packet came in; ok is false for a source
// that does not count them.
func (w *packetWatch) since(now time.Time) (time.Duration, bool) {
	if w.src == nil {
		return 0, false
	}
	if n := w.src.Packets(); n != w.n {
		w.n, w.last = n, now
	}
	return now.Sub(w.last), true
}

// stalled reports whether the source handed on no frame for StallTimeout
// and is not alive either: a loaded worker decodes slowly, but the packets
// still coming in show the source is there (up to packetsOnlyStalls times
// the timeout).
func (s *Supervised) stalled(alive *packetWatch) bool {
	now := time.Now()
	noFrame := now.Sub(time.Unix(0, s.lastLive.Load()))
	if noFrame <= s.so.StallTimeout {
		return false
	}
	quiet, counts := alive.since(now)
	return !counts || quiet > s.so.StallTimeout || noFrame > packetsOnlyStalls*s.so.StallTimeout
}
