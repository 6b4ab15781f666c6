package frames

import (
	"fmt"
	"image"
	"image/draw"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

// TestUprightSmall spells out the turns on a 3×2 picture.
func TestUprightSmall(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(src.Pix, []uint8{
		1, 2, 3,
		4, 5, 6,
	})
	tests := []struct {
		o    ingest.Orientation
		w, h int
		want []uint8
	}{
		{ingest.Rotate90, 2, 3, []uint8{4, 1, 5, 2, 6, 3}},
		{ingest.Rotate180, 3, 2, []uint8{6, 5, 4, 3, 2, 1}},
		{ingest.Rotate270, 2, 3, []uint8{3, 6, 2, 5, 1, 4}},
		{ingest.Mirrored, 3, 2, []uint8{3, 2, 1, 6, 5, 4}},
		{ingest.Rotate90Mirrored, 2, 3, []uint8{1, 4, 2, 5, 3, 6}},
		{ingest.Rotate180Mirrored, 3, 2, []uint8{4, 5, 6, 1, 2, 3}},
		{ingest.Rotate270Mirrored, 2, 3, []uint8{6, 3, 5, 2, 4, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.o.String(), func(t *testing.T) {
			got := Upright(src, tc.o)
			require.Equal(t, image.Rect(0, 0, tc.w, tc.h), got.Rect)
			require.Equal(t, tc.want, got.Pix)
		})
	}
	require.Same(t, src, Upright(src, ingest.Upright))
}

// TestUprightMatchesFFmpeg: each orientation turns a picture exactly as the
// filters ffmpeg's autorotate inserts for it, on a picture of odd size larger
// than a tile, and on a sub-image.
func TestUprightMatchesFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	filters := map[ingest.Orientation]string{
		ingest.Upright:           "null",
		ingest.Rotate90:          "transpose=clock",
		ingest.Rotate180:         "hflip,vflip",
		ingest.Rotate270:         "transpose=cclock",
		ingest.Mirrored:          "hflip",
		ingest.Rotate90Mirrored:  "transpose=cclock_flip",
		ingest.Rotate180Mirrored: "vflip",
		ingest.Rotate270Mirrored: "transpose=clock_flip",
	}
	dir := t.TempDir()
	graph := []string{fmt.Sprintf("testsrc2=size=203x131,format=gray,split=%d", len(filters)+1) + splitPads(len(filters)+1)}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}
	outs := []string{"-map", "[s0]", "-frames:v", "1", filepath.Join(dir, "src.png")}
	for o, f := range filters {
		graph = append(graph, fmt.Sprintf("[s%d]%s[o%d]", int(o)+1, f, o))
		outs = append(outs, "-map", fmt.Sprintf("[o%d]", o), "-frames:v", "1", filepath.Join(dir, fmt.Sprintf("o%d.png", o)))
	}
	args = append(append(args, "-filter_complex", strings.Join(graph, ";")), outs...)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)

	src := testutil.LoadGray(t, filepath.Join(dir, "src.png"))
	// The same picture inside a larger one: Upright must honour Rect and Stride.
	big := image.NewGray(image.Rect(-7, -5, src.Rect.Dx()+11, src.Rect.Dy()+3))
	draw.Draw(big, src.Rect, src, image.Point{}, draw.Src)
	sub := big.SubImage(src.Rect).(*image.Gray)
	for o := range filters {
		t.Run(o.String(), func(t *testing.T) {
			want := testutil.LoadGray(t, filepath.Join(dir, fmt.Sprintf("o%d.png", o)))
			for _, in := range []*image.Gray{src, sub} {
				got := Upright(in, o)
				require.Equal(t, want.Rect, got.Rect.Sub(got.Rect.Min))
				require.True(t, samePixels(want, got), "differs from ffmpeg's %s", filters[o])
			}
		})
	}
}

func splitPads(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[s%d]", i)
	}
	return b.String()
}

func samePixels(a, b *image.Gray) bool {
	if a.Rect.Dx() != b.Rect.Dx() || a.Rect.Dy() != b.Rect.Dy() {
		return false
	}
	for y := range a.Rect.Dy() {
		ra := a.Pix[a.PixOffset(a.Rect.Min.X, a.Rect.Min.Y+y):][:a.Rect.Dx()]
		rb := b.Pix[b.PixOffset(b.Rect.Min.X, b.Rect.Min.Y+y):][:b.Rect.Dx()]
		if string(ra) != string(rb) {
			return false
		}
	}
	return true
}

func BenchmarkUpright(b *testing.B) {
	src := image.NewGray(image.Rect(0, 0, 1920, 1080))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	for _, o := range []ingest.Orientation{ingest.Rotate90, ingest.Rotate180, ingest.Rotate270Mirrored} {
		b.Run(o.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src.Pix)))
			for b.Loop() {
				Upright(src, o)
			}
		})
	}
}
