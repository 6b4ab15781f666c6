package eval

import (
	"context"
	"time"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// The parts of the harness the benchmarks (internal/benchlive) use too.

// PrepareClip makes sure dir holds c's clip (dir/NAME.mp4) and ground truth as
// generated from c now, generating them unless both exist beside a matching
// spec hash. It returns the clip's path and whether it was generated.
func PrepareClip(ctx context.Context, c clipgen.Clip, dir string) (string, bool, error) {
	return prepareClip(ctx, c, dir)
}

// ReadTruth reads the ground truth clipgen wrote beside clipPath.
func ReadTruth(clipPath string) (clipgen.Truth, error) { return readTruth(clipPath) }

// RunBaseline runs the naive pipeline a user would script on clipPath: ffmpeg
// extracts one frame per second (fps=1, PNG) into framesDir, and the
// tesseract CLI reads each whole frame in languages, workers at a time. It
// returns the text of each frame and the CPU time of every process together.
// framesDir is emptied, used and removed.
func RunBaseline(ctx context.Context, clipPath, framesDir, languages string, workers int) ([]FrameText, time.Duration, error) {
	r, err := runBaseline(ctx, clipPath, framesDir, languages, workers)
	return r.Frames, time.Duration(r.CPUSeconds * float64(time.Second)), err
}
