package ingest

import "github.com/asticode/go-astiav"

const (
	// maxBackStep is how far a timestamp may go back before it counts as a
	// discontinuity (a restart or a wrap) rather than jitter to clamp.
	maxBackStepMS = 1000
	// maxForwardStepMS is the largest gap between two frames taken at face value; a
	// bigger jump (an encoder restart with a new time origin) is rebased instead.
	maxForwardStepMS = 30_000
)

// mediaClock turns frame timestamps into milliseconds since the first frame, and
// keeps them non-decreasing across missing, backward and jumping timestamps.
type mediaClock struct {
	tb        astiav.Rational
	frameMS   int64 // expected distance between frames, for missing timestamps and rebases
	first     int64
	haveFirst bool
	offsetMS  int64
	lastMS    int64
	haveLast  bool
}

type clockEvent int

const (
	clockOK clockEvent = iota
	clockMissing
	clockClamped
	clockRebased
)

var millisecond = astiav.NewRational(1, 1000)

// at returns the media time of a frame with timestamp ts (astiav.NoPtsValue if none).
func (c *mediaClock) at(ts int64) (int64, clockEvent) {
	if ts == astiav.NoPtsValue {
		if !c.haveLast {
			c.haveLast = true
			return 0, clockMissing
		}
		c.lastMS += c.frameMS
		return c.lastMS, clockMissing
	}
	if !c.haveFirst {
		c.first, c.haveFirst = ts, true
		if c.haveLast {
			// Frames without timestamps came first: continue from them.
			c.offsetMS = c.lastMS + c.frameMS
		}
	}
	ms := astiav.RescaleQ(ts-c.first, c.tb, millisecond) + c.offsetMS
	if !c.haveLast {
		c.lastMS, c.haveLast = ms, true
		return ms, clockOK
	}
	ev := clockOK
	switch d := ms - c.lastMS; {
	case d < -maxBackStepMS || d > maxForwardStepMS:
		want := c.lastMS + c.frameMS
		c.offsetMS += want - ms
		ms, ev = want, clockRebased
	case d < 0:
		ms, ev = c.lastMS, clockClamped
	}
	c.lastMS = ms
	return ms, ev
}
