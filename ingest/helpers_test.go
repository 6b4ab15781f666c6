package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var clipDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ingest-test-")
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
	p := filepath.Join(clipDir, name)
	ffmpeg(t, append(args, p)...)
	clips[name] = p
	return p
}

func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	args = append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
}

// h264Clip is 3 s of 320x240 at 25 fps: 75 frames.
func h264Clip(t testing.TB) string {
	return clip(t, "h264.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3",
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

// stallListener accepts TCP connections and never answers; it holds them until the test ends.
func stallListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func within(t testing.TB, d time.Duration, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	require.Less(t, time.Since(start), d)
}
