package benchlive

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DecodeRef is how fast the machine decodes the bench clip, measured in the
// bench's own run: ffmpeg on one thread, every frame and keyframes only,
// CPU-s per minute of the clip. Machines here are shared, and the same
// worker has cost twice as much CPU from one hour to the next; a figure
// divided by AllPerMin compares across such hours (issue #12 measured 3.2 CPU-s
// for every frame of its clip, and 0.29 for keyframes only).
type DecodeRef struct {
	AllPerMin float64 `json:"ref_decode_all_cpu_s_per_min"`
	KeyPerMin float64 `json:"ref_decode_keyframes_cpu_s_per_min"`
}

// measureDecodeRef decodes clip with ffmpeg on one thread, every frame and
// then keyframes only, and returns their CPU-s per minute of clip.
func measureDecodeRef(ctx context.Context, clip benchClip) (DecodeRef, error) {
	if clip.length <= 0 {
		return DecodeRef{}, fmt.Errorf("%w: clip %s has no duration", ErrConfig, clip.path)
	}
	all, err := decodeCPU(ctx, clip.path, false)
	if err != nil {
		return DecodeRef{}, err
	}
	key, err := decodeCPU(ctx, clip.path, true)
	if err != nil {
		return DecodeRef{}, err
	}
	m := clip.length.Minutes()
	return DecodeRef{AllPerMin: round(all.Seconds()/m, 3), KeyPerMin: round(key.Seconds()/m, 3)}, nil
}

// decodeCPU is the CPU time of ffmpeg decoding the video of path on one
// thread to nothing, keyframes only if key.
func decodeCPU(ctx context.Context, path string, key bool) (time.Duration, error) {
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1"}
	if key {
		args = append(args, "-skip_frame", "nokey")
	}
	args = append(args, "-i", path, "-map", "0:v:0", "-f", "null", "-")
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("benchlive: reference decode of %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// refText is the report line of ref, with what per-minute figure cpu is of
// its every-frame decode.
func refText(ref DecodeRef, cpu float64, what string) string {
	if ref.AllPerMin <= 0 {
		return "not measured"
	}
	return fmt.Sprintf("ffmpeg -threads 1 on the clip: every frame %.2f CPU-s per minute of it, keyframes only %.2f; %s = %.3f x every-frame decode",
		ref.AllPerMin, ref.KeyPerMin, what, cpu/ref.AllPerMin)
}
