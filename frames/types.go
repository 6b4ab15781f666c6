package frames

import (
	"image"
	"time"

	"github.com/streamwatch/streamwatch/lines"
)

// Sampled is a frame chosen for reading, held in Go memory only.
type Sampled struct {
	Seq     int64       // 0, 1, 2, … in the order the sampler chose frames
	MediaMS int64       // media time of the frame
	Wall    time.Time   // wall-clock time of the frame
	Image   *image.Gray // the picture as 8-bit luma
	// Analysis is what an earlier stage (the keyframe judge) worked out of
	// Image, for the line reader to take; nil when none did.
	Analysis *lines.Analysis
	// Gaps counts the unwatched spans of the stream (reconnects, a take-over)
	// before this frame.
	Gaps int64
	// Queued is the wall-clock time the frame was handed to the Queue, just
	// after it was decoded and converted (set by Put when zero): how late
	// its reading comes is measured from it.
	Queued time.Time
}
