package frames

import (
	"context"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/ingest"
)

var clipDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "frames-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clipDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	clipMu sync.Mutex
	clips  = map[string]string{}
)

// clip makes name in a directory shared by the package's tests with
// `ffmpeg <args> name`, once.
func clip(t testing.TB, name string, args ...string) string {
	t.Helper()
	clipMu.Lock()
	defer clipMu.Unlock()
	if p, ok := clips[name]; ok {
		return p
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	p := filepath.Join(clipDir, name)
	args = append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...), p)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
	clips[name] = p
	return p
}

// decode runs fn on every frame of path.
func decode(t testing.TB, path string, fn func(ingest.Frame) error) {
	t.Helper()
	src, err := ingest.Open(context.Background(), path, ingest.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer src.Close()
	require.NoError(t, src.Run(context.Background(), fn))
}

// firstFrame returns a reference to the first decoded frame of path, freed when the test ends.
func firstFrame(t testing.TB, path string) *astiav.Frame {
	t.Helper()
	var f *astiav.Frame
	decode(t, path, func(fr ingest.Frame) error {
		if f == nil {
			f = fr.AV.Clone()
		}
		return nil
	})
	require.NotNil(t, f)
	t.Cleanup(f.Free)
	return f
}

// halfBlack is a 64x48 clip whose top half is black and bottom half white.
func halfBlack(t testing.TB, name string, codecArgs ...string) string {
	args := []string{"-f", "lavfi", "-i", "color=c=white:s=64x48:r=5", "-t", "0.4",
		"-vf", "drawbox=x=0:y=0:w=iw:h=ih/2:color=black:t=fill"}
	return clip(t, name, append(args, codecArgs...)...)
}

func TestToGray(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		codec  []string
		format string // decoded pixel format
	}{
		{"h264 yuv420p", "h264.mp4", []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}, "yuv420p"},
		{"mjpeg yuvj420p", "mjpeg.avi", []string{"-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "2"}, "yuvj420p"},
		{"ffv1 yuv444p", "yuv444p.mkv", []string{"-c:v", "ffv1", "-pix_fmt", "yuv444p"}, "yuv444p"},
		{"ffv1 gray", "gray.mkv", []string{"-c:v", "ffv1", "-pix_fmt", "gray"}, "gray"},
		{"rawvideo nv12", "nv12.nut", []string{"-c:v", "rawvideo", "-pix_fmt", "nv12"}, "nv12"},
		{"swscale: ffv1 yuv420p10le", "yuv420p10.mkv", []string{"-c:v", "ffv1", "-pix_fmt", "yuv420p10le"}, "yuv420p10le"},
		{"swscale: rawvideo rgb24", "rgb24.nut", []string{"-c:v", "rawvideo", "-pix_fmt", "rgb24"}, "rgb24"},
		{"swscale: bottom-up bgr24 in avi", "bgr24.avi", []string{"-c:v", "rawvideo", "-pix_fmt", "bgr24"}, "bgr24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := firstFrame(t, halfBlack(t, tc.file, tc.codec...))
			require.Equal(t, tc.format, f.PixelFormat().Name())

			for _, convert := range []struct {
				name string
				fn   func(*astiav.Frame) (*image.Gray, error)
			}{
				{"ToGray", ToGray},
				{"GrayConverter", func(f *astiav.Frame) (*image.Gray, error) {
					var c GrayConverter
					defer c.Close()
					if _, err := c.ToGray(f); err != nil { // twice: the second reuses the scaler
						return nil, err
					}
					return c.ToGray(f)
				}},
			} {
				img, err := convert.fn(f)
				require.NoError(t, err, convert.name)
				require.Equal(t, image.Rect(0, 0, 64, 48), img.Rect, convert.name)
				require.Equal(t, 64, img.Stride)
				for _, x := range []int{2, 32, 61} {
					require.LessOrEqual(t, img.GrayAt(x, 6).Y, uint8(20), "%s: top must be black", convert.name)
					require.GreaterOrEqual(t, img.GrayAt(x, 42).Y, uint8(230), "%s: bottom must be white", convert.name)
				}
			}
		})
	}
}

func TestToGrayErrors(t *testing.T) {
	_, err := ToGray(nil)
	require.Error(t, err)

	empty := astiav.AllocFrame()
	defer empty.Free()
	_, err = ToGray(empty)
	require.ErrorContains(t, err, "without a picture")
}

func TestGrayConverterFollowsFormatChanges(t *testing.T) {
	rgb := firstFrame(t, halfBlack(t, "rgb24.nut", "-c:v", "rawvideo", "-pix_fmt", "rgb24"))
	ten := firstFrame(t, halfBlack(t, "yuv420p10.mkv", "-c:v", "ffv1", "-pix_fmt", "yuv420p10le"))
	var c GrayConverter
	defer c.Close()
	for _, f := range []*astiav.Frame{rgb, ten, rgb} {
		img, err := c.ToGray(f)
		require.NoError(t, err)
		require.GreaterOrEqual(t, img.GrayAt(10, 40).Y, uint8(230))
	}
}

func TestSamplerOnDecodedClips(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		rate     string
		duration string
		interval time.Duration
		want     []int64
	}{
		{"25 fps every second", "s25.mp4", "25", "3", time.Second, []int64{0, 1000, 2000}},
		{"29.97 fps every second", "s2997.mp4", "30000/1001", "3", time.Second, []int64{0, 1001, 2002}},
		{"25 fps every 500ms", "s25.mp4", "25", "3", 500 * time.Millisecond, []int64{0, 520, 1000, 1520, 2000, 2520}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := clip(t, tc.file, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate="+tc.rate, "-t", tc.duration,
				"-c:v", "libx264", "-preset", "ultrafast")
			for range 2 { // the same input gives the same picks
				s := NewSampler(tc.interval)
				var got []int64
				decode(t, path, func(f ingest.Frame) error {
					if s.Due(f.MediaMS) {
						got = append(got, f.MediaMS)
					}
					return nil
				})
				require.Equal(t, tc.want, got)
			}
		})
	}
}

func TestSampler(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		ms       []int64
		want     []int64
	}{
		{"every frame due at its second", time.Second, []int64{0, 400, 999, 1000, 1001, 2500, 2600, 3000}, []int64{0, 1000, 2500, 3000}},
		{"first frame late", time.Second, []int64{1700, 1800, 2000}, []int64{1700, 2000}},
		{"gap skips due times", time.Second, []int64{0, 5300, 5900, 6000}, []int64{0, 5300, 6000}},
		{"zero interval means 1s", 0, []int64{0, 500, 1000}, []int64{0, 1000}},
		{"negative interval means 1s", -time.Second, []int64{0, 500, 1000}, []int64{0, 1000}},
		{"sub-millisecond interval", time.Microsecond, []int64{0, 0, 1, 1, 2}, []int64{0, 1, 2}},
		{"repeated media time", time.Second, []int64{1000, 1000, 1000}, []int64{1000}},
		{"negative media times", time.Second, []int64{-1500, -1200, -1000, 0}, []int64{-1500, -1000, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSampler(tc.interval)
			var got []int64
			for _, ms := range tc.ms {
				if s.Due(ms) {
					got = append(got, ms)
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func BenchmarkToGray(b *testing.B) {
	yuv := firstFrame(b, clip(b, "bench720p.mp4", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "0.2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
	rgb := firstFrame(b, clip(b, "bench720p.nut", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "0.2",
		"-c:v", "rawvideo", "-pix_fmt", "rgb24"))
	b.Run("yuv420p direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToGray(yuv); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rgb24 swscale", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToGray(rgb); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rgb24 swscale reused converter", func(b *testing.B) {
		var c GrayConverter
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.ToGray(rgb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
