package ingest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// matrix is av_display_rotation_set(clockwise degrees) followed by
// av_display_matrix_flip(hflip, vflip), which negates the first or second
// column.
func matrix(degrees float64, hflip, vflip bool) []byte {
	m := *astiav.NewDisplayMatrixFromRotation(degrees)
	for i := range m {
		if hflip && i%3 == 0 || vflip && i%3 == 1 {
			m[i] = uint32(-int32(m[i]))
		}
	}
	return m.Bytes()
}

// TestOrientationOfDisplayMatrix: each matrix gives the orientation whose
// filters ffmpeg's and ffplay's autorotate insert for it.
func TestOrientationOfDisplayMatrix(t *testing.T) {
	tests := []struct {
		name         string
		degrees      float64
		hflip, vflip bool
		want         Orientation
	}{
		{"none", 0, false, false, Upright},
		{"quarter clockwise (transpose=clock)", 90, false, false, Rotate90},
		{"half turn (hflip,vflip)", 180, false, false, Rotate180},
		{"quarter anticlockwise (transpose=cclock)", 270, false, false, Rotate270},
		{"minus a quarter is three", -90, false, false, Rotate270},
		{"a full turn and a quarter", 450, false, false, Rotate90},
		{"near a quarter", 89.6, false, false, Rotate90},
		{"hflip", 0, true, false, Mirrored},
		{"vflip", 0, false, true, Rotate180Mirrored},
		{"quarter and hflip (transpose=cclock_flip)", 90, true, false, Rotate90Mirrored},
		{"three quarters and hflip (transpose=clock_flip)", 270, true, false, Rotate270Mirrored},
		{"quarter and vflip (transpose=clock_flip)", 90, false, true, Rotate270Mirrored},
		{"half turn and hflip is vflip", 180, true, false, Rotate180Mirrored},
		{"half turn and both flips", 180, true, true, Upright},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, orientationOf(matrix(tc.degrees, tc.hflip, tc.vflip)))
		})
	}
	require.Equal(t, Upright, orientationOf(nil), "no matrix")
	require.Equal(t, Upright, orientationOf(make([]byte, 36)), "a zero matrix has no angle")
}

func TestOrientationNames(t *testing.T) {
	names := map[Orientation]string{
		Upright: "upright", Rotate90: "rotate=90", Rotate180: "rotate=180", Rotate270: "rotate=270",
		Mirrored: "mirror", Rotate90Mirrored: "rotate=90,mirror", Rotate180Mirrored: "rotate=180,mirror",
		Rotate270Mirrored: "rotate=270,mirror", Rotate270Mirrored + 1: "invalid",
	}
	for o, want := range names {
		require.Equal(t, want, o.String())
	}
	data, err := json.Marshal(map[string]Orientation{"orientation": Rotate270})
	require.NoError(t, err)
	require.JSONEq(t, `{"orientation":"rotate=270"}`, string(data))
	require.Equal(t, 90, Rotate90Mirrored.Degrees())
	require.True(t, Rotate90Mirrored.Mirror())
	require.True(t, Rotate270.SwapsSides())
	require.False(t, Rotate180Mirrored.SwapsSides())
}

// TestOpenReportsDisplayMatrix: a clip tagged with ffmpeg 5.1's rotate
// metadata (which it writes as the MP4 track's matrix) reports the turn that
// ffmpeg's own autorotate makes, in Info and on every frame.
func TestOpenReportsDisplayMatrix(t *testing.T) {
	tests := []struct {
		tag  string
		want Orientation
	}{
		// ffprobe: rotation=-90; ffmpeg shows it with transpose=clock.
		{"270", Rotate90},
		{"180", Rotate180},
		// ffprobe: rotation=90; ffmpeg shows it with transpose=cclock.
		{"90", Rotate270},
	}
	plain := h264Clip(t)
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			path := testutil.Clip(t, "rotate"+tc.tag+".mp4", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate="+tc.tag)
			src := openT(t, path, Options{})
			require.Equal(t, tc.want, src.Info().Orientation)
			require.Equal(t, 320, src.Info().Width, "the decoded picture's size")
			n := 0
			require.NoError(t, src.Run(context.Background(), func(f Frame) error {
				n++
				require.Equal(t, tc.want, f.Orientation)
				return nil
			}))
			require.Equal(t, 75, n)
		})
	}
	require.Equal(t, Upright, openT(t, plain, Options{}).Info().Orientation)
}
