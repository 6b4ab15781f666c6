package ingest

import (
	"context"
	"fmt"
)

// DecodeSlots bounds how many live sources of a process decode at once. A
// worker's streams each decode on a thread of their own, and a burst of work
// (a caption shown on many streams at once, each decoding a GOP again to time
// it) makes dozens of decoding threads runnable beside the few OCR threads:
// the kernel shares the cores out per thread, so the OCR threads, which finish
// the work in hand, got a tenth of a core while the decoders started more
// (make bench-live N=80: 0.16 of 1.5 cores read lines; caption-to-alert p95
// 16 s). With slots, a decoder waits for one; one that waits falls behind the
// live edge and decodes keyframes only, as designed for overload. Files and
// replays do not take slots. The zero value (nil) bounds nothing. A worker
// has one slot per core: with one per two cores, the GOPs decoded again at a
// caption's onset queued for the one slot of a 2-core worker, which then
// ran at 1.1 cores (N=80: p95 9.3 s, against 6.5 s with two).
type DecodeSlots chan struct{}

// NewDecodeSlots returns n slots (at least 1).
func NewDecodeSlots(n int) DecodeSlots { return make(DecodeSlots, max(n, 1)) }

// take waits for a slot; the func it returns gives it back.
func (d DecodeSlots) take(ctx context.Context) (func(), error) {
	if d == nil {
		return func() {}, nil
	}
	select {
	case d <- struct{}{}:
		return func() { <-d }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("ingest: waiting to decode: %w", ctx.Err())
	}
}
