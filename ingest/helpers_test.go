package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// h264Clip is 3 s of 320x240 at 25 fps: 75 frames.
func h264Clip(t testing.TB) string {
	return testutil.Clip(t, "h264.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p")
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// collect runs src to the end and returns the frames' media times.
func collect(t testing.TB, src *Source) []int64 {
	t.Helper()
	var ms []int64
	err := src.Run(context.Background(), func(f Frame) error {
		ms = append(ms, f.MediaMS)
		return nil
	})
	require.NoError(t, err)
	return ms
}

func openT(t testing.TB, url string, opts Options) *Source {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	src, err := Open(context.Background(), url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

func within(t testing.TB, d time.Duration, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	require.Less(t, time.Since(start), d)
}
