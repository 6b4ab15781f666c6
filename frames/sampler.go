package frames

import "time"

// Sampler picks frames at a fixed interval of media time: the first frame whose media
// time reaches the next due time, which is the next multiple of the interval after the
// last picked frame. The choice depends only on the media times, so a replay of the
// same input picks the same frames. A Sampler is not safe for concurrent use.
type Sampler struct {
	intervalMS int64
	nextMS     int64
}

// NewSampler returns a Sampler that picks a frame every interval of media time,
// starting with the first frame. An interval <= 0 means 1s; it is rounded down to whole
// milliseconds, with a minimum of 1ms.
func NewSampler(interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = time.Second
	}
	return &Sampler{intervalMS: max(interval.Milliseconds(), 1), nextMS: minInt64}
}

const minInt64 = -1 << 63

// Due reports whether the frame at mediaMS should be sampled, and if so advances the
// next due time to the next multiple of the interval after mediaMS.
func (s *Sampler) Due(mediaMS int64) bool {
	if mediaMS < s.nextMS {
		return false
	}
	s.nextMS = (floorDiv(mediaMS, s.intervalMS) + 1) * s.intervalMS
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
