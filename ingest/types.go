package ingest

import (
	"time"

	"github.com/asticode/go-astiav"
)

// Frame is one decoded video frame. AV is owned by the source and is valid only
// for the duration of the handler call that receives it: a handler that wants
// to keep the picture must copy it out (frames.ToGray does).
type Frame struct {
	AV      *astiav.Frame
	MediaMS int64     // milliseconds since the start of the stream, from PTS and time base
	Wall    time.Time // wall-clock time the frame stands for
	Width   int       // as decoded, before Orientation
	Height  int
	// Orientation turns the picture upright: the frame's own display
	// matrix, else its stream's (Info.Orientation).
	Orientation Orientation
}
