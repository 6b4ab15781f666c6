package benchlive

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCutHeadKeepsTheClipsStart: the head replayed for the start-up's cost is
// the clip's first seconds, its packets copied.
func TestCutHeadKeepsTheClipsStart(t *testing.T) {
	head, err := cutHead(context.Background(), "../../testdata/demo.mp4", t.TempDir(), 2*time.Second)
	require.NoError(t, err)
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", head).Output()
	require.NoError(t, err)
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	require.NoError(t, err)
	require.InDelta(t, 2, d, 0.6, "head of %.2f s", d)

	_, err = cutHead(context.Background(), "../../testdata/no-such.mp4", t.TempDir(), 2*time.Second)
	require.ErrorContains(t, err, "cut the clip's first 2s")
}

func TestRatioReportSaysTheSteadyCost(t *testing.T) {
	var b strings.Builder
	s := &RatioSummary{Clip: "/x/bench.mp4", ClipMinutes: 1, Runs: 2, StreamwatchCPUS: []float64{1.8, 1.7},
		NaiveCPUS: []float64{20, 21}, HeadSeconds: 2, HeadCPUS: []float64{0.6, 0.62}, SteadyPerMin: 1.15}
	require.NoError(t, writeRatio(&b, s))
	require.Contains(t, b.String(), "streamwatch after start-up: 1.150 CPU-s per stream-minute (the clip's first 2 s replayed alone: 0.60, 0.62 CPU-s, median 0.61)")
	require.Contains(t, b.String(), `"streamwatch_cpu_s_per_stream_min_after_startup":1.15`)
}

// TestDecodeRefMeasuresTheMachine decodes the demo clip with ffmpeg: every
// frame costs more than keyframes only, both something; a clip that is not
// there is a clear error.
func TestDecodeRefMeasuresTheMachine(t *testing.T) {
	clip := benchClip{path: "../../testdata/demo.mp4", length: 34 * time.Second}
	ref, err := measureDecodeRef(context.Background(), clip)
	require.NoError(t, err)
	require.Positive(t, ref.KeyPerMin)
	require.Greater(t, ref.AllPerMin, ref.KeyPerMin, "%+v", ref)

	_, err = measureDecodeRef(context.Background(), benchClip{path: "../../testdata/no-such.mp4", length: time.Second})
	require.ErrorContains(t, err, "reference decode of ../../testdata/no-such.mp4")
	_, err = measureDecodeRef(context.Background(), benchClip{path: clip.path})
	require.ErrorIs(t, err, ErrConfig)
}

func TestRatioReportSaysTheMachineSpeed(t *testing.T) {
	var b strings.Builder
	s := &RatioSummary{Clip: "/x/bench.mp4", ClipMinutes: 1, Runs: 1, StreamwatchCPUS: []float64{1.8},
		NaiveCPUS: []float64{20}, HeadSeconds: 2, HeadCPUS: []float64{0.6}, SteadyPerMin: 1.2,
		DecodeRef: DecodeRef{AllPerMin: 9.6, KeyPerMin: 1.0}, SteadyVsDecodeAll: 0.125}
	require.NoError(t, writeRatio(&b, s))
	require.Contains(t, b.String(), "machine speed: ffmpeg -threads 1 on the clip: every frame 9.60 CPU-s per minute of it, keyframes only 1.00; streamwatch after start-up = 0.125 x every-frame decode")
	require.Contains(t, b.String(), `"ref_decode_all_cpu_s_per_min":9.6`)
	require.Contains(t, b.String(), `"after_startup_vs_decode_all":0.125`)
	require.Equal(t, "not measured", refText(DecodeRef{}, 1, "x"))
}
