package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

func TestDecodeClips(t *testing.T) {
	tests := []struct {
		name      string
		make      func(t testing.TB) string
		codec     string
		w, h      int
		fps       float64
		frames    int
		msOfFrame func(i int) int64
	}{
		{
			name: "h264 in mp4 at 25 fps", make: h264Clip, codec: "h264", w: 320, h: 240, fps: 25,
			frames: 75, msOfFrame: func(i int) int64 { return int64(i) * 40 },
		},
		{
			name: "vp8 in webm at 10 fps", codec: "vp8", w: 160, h: 120, fps: 10, frames: 20,
			make: func(t testing.TB) string {
				return testutil.Clip(t, "vp8.webm", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2",
					"-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k")
			},
			msOfFrame: func(i int) int64 { return int64(i) * 100 },
		},
		{
			name: "mpeg4 in avi at 15 fps", codec: "mpeg4", w: 176, h: 144, fps: 15, frames: 30,
			make: func(t testing.TB) string {
				return testutil.Clip(t, "mpeg4.avi", "-f", "lavfi", "-i", "testsrc=size=176x144:rate=15", "-t", "2",
					"-c:v", "mpeg4", "-q:v", "5")
			},
			msOfFrame: func(i int) int64 { return int64(math.Round(float64(i) * 1000 / 15)) },
		},
		{
			name: "ffv1 yuv444p in mkv at 25 fps", codec: "ffv1", w: 128, h: 96, fps: 25, frames: 50,
			make: func(t testing.TB) string {
				return testutil.Clip(t, "ffv1.mkv", "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25", "-t", "2",
					"-c:v", "ffv1", "-pix_fmt", "yuv444p")
			},
			msOfFrame: func(i int) int64 { return int64(i) * 40 },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.make(t)
			reg := prometheus.NewRegistry()
			decoded := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_frames_decoded_total", Help: "test"})
			reg.MustRegister(decoded)

			src := openT(t, path, Options{FramesDecoded: decoded})
			info := src.Info()
			require.Equal(t, tc.codec, info.Codec)
			require.Equal(t, tc.w, info.Width)
			require.Equal(t, tc.h, info.Height)
			require.InDelta(t, tc.fps, info.FrameRate, 0.01)
			require.False(t, info.Live)
			wantDuration := time.Duration(float64(tc.frames) / tc.fps * float64(time.Second))
			require.InDelta(t, wantDuration, info.Duration, float64(50*time.Millisecond), "the container's duration")

			var got []int64
			err := src.Run(context.Background(), func(f Frame) error {
				require.NotNil(t, f.AV)
				require.Equal(t, tc.w, f.Width)
				require.Equal(t, tc.h, f.Height)
				got = append(got, f.MediaMS)
				return nil
			})
			require.NoError(t, err)
			want := make([]int64, tc.frames)
			for i := range want {
				want[i] = tc.msOfFrame(i)
			}
			require.Equal(t, want, got)

			mfs, err := reg.Gather()
			require.NoError(t, err)
			require.Equal(t, float64(tc.frames), mfs[0].GetMetric()[0].GetCounter().GetValue())
		})
	}
}

func TestFileURLAndPlainPathAgree(t *testing.T) {
	path := h264Clip(t)
	rel, err := filepath.Rel(mustGetwd(t), path)
	require.NoError(t, err)
	for _, url := range []string{path, "file:" + path, "file://" + path, "FILE://localhost" + path, rel} {
		t.Run(url, func(t *testing.T) {
			require.Len(t, collect(t, openT(t, url, Options{})), 75)
		})
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

func TestMediaClockWall(t *testing.T) {
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	withCreation := testutil.Clip(t, "created.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "creation_time="+created.Format(time.RFC3339))

	plain := filepath.Join(t.TempDir(), "plain.mp4")
	data, err := os.ReadFile(h264Clip(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(plain, data, 0o600))
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, os.Chtimes(plain, mtime, mtime))

	tests := []struct {
		name  string
		path  string
		start time.Time
	}{
		{"creation_time metadata", withCreation, created},
		{"file mtime without metadata", plain, mtime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := openT(t, tc.path, Options{MediaClock: true})
			require.True(t, tc.start.Equal(src.Info().StartWall), "StartWall %v", src.Info().StartWall)
			n := 0
			err := src.Run(context.Background(), func(f Frame) error {
				require.True(t, tc.start.Add(time.Duration(f.MediaMS)*time.Millisecond).Equal(f.Wall))
				n++
				return nil
			})
			require.NoError(t, err)
			require.Positive(t, n)
		})
	}

	t.Run("wall clock without MediaClock", func(t *testing.T) {
		src := openT(t, withCreation, Options{})
		before := time.Now()
		err := src.Run(context.Background(), func(f Frame) error {
			require.False(t, f.Wall.Before(before))
			require.False(t, f.Wall.After(time.Now()))
			return nil
		})
		require.NoError(t, err)
	})
}

func TestRealtimePacing(t *testing.T) {
	path := testutil.Clip(t, "1s.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast")
	src := openT(t, path, Options{Realtime: true})
	start := time.Now()
	ms := collect(t, src)
	elapsed := time.Since(start)
	require.Len(t, ms, 25)
	// The last frame (960 ms) is due 960 ms after the first.
	require.GreaterOrEqual(t, elapsed, 900*time.Millisecond)
	require.Less(t, elapsed, 5*time.Second)
}

func TestRunStopsOnContextCancel(t *testing.T) {
	path := testutil.Clip(t, "10s.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast")
	src := openT(t, path, Options{Realtime: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	start := time.Now()
	err := src.Run(ctx, func(Frame) error { n++; return nil })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 1500*time.Millisecond)
	require.Positive(t, n)
	require.Less(t, n, 50)
}

func TestRunReturnsHandlerErrorAsIs(t *testing.T) {
	src := openT(t, h264Clip(t), Options{})
	errStop := errors.New("stop here")
	n := 0
	err := src.Run(context.Background(), func(Frame) error {
		n++
		if n == 5 {
			return errStop
		}
		return nil
	})
	require.Equal(t, errStop, err)
	require.Equal(t, 5, n)
}

func TestRunOnceAndCloseTwice(t *testing.T) {
	src, err := Open(context.Background(), h264Clip(t), Options{Logger: quietLogger()})
	require.NoError(t, err)
	require.Len(t, collect(t, src), 75)
	require.ErrorIs(t, src.Run(context.Background(), func(Frame) error { return nil }), ErrRunTwice)
	require.ErrorContains(t, src.Run(context.Background(), func(Frame) error { return nil }), "Run called twice")
	require.NoError(t, src.Close())
	require.NoError(t, src.Close())
	require.ErrorIs(t, src.Run(context.Background(), func(Frame) error { return nil }), ErrClosed)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	var sb strings.Builder
	for i := range 50 {
		fmt.Fprintf(&sb, "line %d of notes about the stream\n", i)
	}
	require.NoError(t, os.WriteFile(text, []byte(sb.String()), 0o600))
	garbage := filepath.Join(dir, "garbage.bin")
	junk := make([]byte, 64*1024)
	for i := range junk {
		junk[i] = byte(i*7 + i/13)
	}
	require.NoError(t, os.WriteFile(garbage, junk, 0o600))

	audioM4A := testutil.Clip(t, "audio.m4a", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac")
	audioMP3 := testutil.Clip(t, "audio.mp3", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame")
	cover := testutil.Clip(t, "cover.png", "-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1")
	audioWithCover := testutil.Clip(t, "cover.m4a", "-f", "lavfi", "-i", "sine=duration=1", "-i", cover,
		"-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic")
	still := testutil.Clip(t, "still.jpg", "-f", "lavfi", "-i", "color=c=blue:s=64x64", "-frames:v", "1")

	// A truncated MP4 whose moov atom (written last) is gone.
	truncated := filepath.Join(dir, "truncated.mp4")
	data, err := os.ReadFile(h264Clip(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/2], 0o600))

	tests := []struct {
		name    string
		url     string
		is      error
		message string // lower-cased substring
	}{
		{name: "missing file", url: filepath.Join(dir, "missing.mp4"), is: os.ErrNotExist, message: "no such file"},
		{name: "missing file URL", url: "file://" + filepath.Join(dir, "missing.mp4"), is: os.ErrNotExist, message: "no such file"},
		{name: "directory", url: dir, is: ErrIsDirectory, message: "is a directory"},
		{name: "unknown scheme", url: "foo://x", is: ErrUnsupportedScheme, message: `unsupported url scheme "foo" (allowed:`},
		{name: "concat protocol", url: "concat:" + text + "|" + text, is: ErrUnsupportedScheme},
		{name: "subfile protocol", url: "subfile:" + text, is: ErrUnsupportedScheme},
		{name: "data URI", url: "data:video/mp4;base64,AAAA", is: ErrUnsupportedScheme},
		{name: "gopher", url: "gopher://example.com/x", is: ErrUnsupportedScheme},
		{name: "pipe", url: "pipe:0", is: ErrUnsupportedScheme},
		{name: "file URL with remote host", url: "file://example.com/etc/passwd", message: "remote host"},
		{name: "empty", url: "", message: "empty url"},
		{name: "text file (tty demuxer)", url: text, message: "unsupported container"},
		{name: "garbage", url: garbage, message: "invalid data"},
		{name: "audio-only m4a", url: audioM4A, is: ErrNoVideo},
		{name: "audio-only mp3", url: audioMP3, is: ErrNoVideo},
		{name: "audio with cover art", url: audioWithCover, is: ErrNoVideo},
		{name: "still image", url: still, message: "unsupported container"},
		{name: "truncated mp4", url: truncated, message: "invalid data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(context.Background(), tc.url, Options{Logger: quietLogger()})
			require.Error(t, err)
			require.Nil(t, src)
			msg := err.Error()
			require.NotContains(t, msg, "\n")
			require.True(t, strings.HasPrefix(msg, "open "+Redact(tc.url)+": "), msg)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.Contains(t, strings.ToLower(msg), tc.message)
		})
	}
}

// A truncated MP4 that keeps its index (moov first) opens; reading stops early with an
// error or at EOF, and never hangs or panics.
func TestTruncatedFaststartMP4(t *testing.T) {
	full := testutil.Clip(t, "faststart.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart")
	data, err := os.ReadFile(full)
	require.NoError(t, err)
	truncated := filepath.Join(t.TempDir(), "half.mp4")
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/2], 0o600))

	src := openT(t, truncated, Options{})
	n := 0
	within(t, 5*time.Second, func() {
		err = src.Run(context.Background(), func(Frame) error { n++; return nil })
	})
	if err != nil {
		require.NotContains(t, err.Error(), "\n")
	}
	require.Less(t, n, 75)
}

func TestMediaClock(t *testing.T) {
	const no = math.MinInt64 // AV_NOPTS_VALUE
	tests := []struct {
		name string
		ts   []int64 // in 1/1000
		want []int64
	}{
		{"regular", []int64{5000, 5040, 5080}, []int64{0, 40, 80}},
		{"missing timestamps", []int64{0, no, 80, 120}, []int64{0, 40, 80, 120}},
		{"missing first", []int64{no, no, 1000, 1040}, []int64{0, 40, 80, 120}},
		{"small step back is clamped", []int64{0, 40, 30, 80}, []int64{0, 40, 40, 80}},
		{"wrap around is rebased", []int64{90000, 90040, 40, 80}, []int64{0, 40, 80, 120}},
		{"big jump forward is rebased", []int64{0, 40, 3_600_000, 3_600_040}, []int64{0, 40, 80, 120}},
		{"pause below the jump limit is kept", []int64{0, 40, 20_040}, []int64{0, 40, 20_040}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mediaClock{tb: millisecond, frameMS: 40}
			var got []int64
			for _, ts := range tc.ts {
				ms, _ := c.at(ts)
				got = append(got, ms)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtmp://user:secret@host/live/x", "rtmp://host/live/x"},
		{"rtsp://admin@10.0.0.1:554/stream", "rtsp://10.0.0.1:554/stream"},
		{"srt://host:9000?streamid=abc&passphrase=secret", "srt://host:9000?streamid=abc&passphrase=REDACTED"},
		{"https://cdn/x.m3u8?token=secret&b=1&Signature=secret", "https://cdn/x.m3u8?token=REDACTED&b=1&Signature=REDACTED"},
		{"http://host/live.flv", "http://host/live.flv"},
		{"/var/media/clip.mp4", "/var/media/clip.mp4"},
		{"rtmp://us%er:se cret@host/a?token=secret", "rtmp://host/a"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, Redact(tc.in))
		})
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{"rtmp://user:secret@host/live/x", "srt://h?passphrase=secret", "http://a:secret@[::1", "/x", "secret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if u, err := url.Parse(r); err == nil && u.User != nil && schemeRE.MatchString(s) {
			t.Fatalf("Redact(%q) = %q keeps credentials", s, r)
		}
		_, _ = parseInput(s)
	})
}

// tsStream serves an MPEG-TS clip over chunked HTTP, then stalls until the client leaves.
func tsStream(t *testing.T) string {
	t.Helper()
	path := testutil.Clip(t, "live.ts", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		_, _ = w.Write(data)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/live.ts"
}

func TestNetworkStream(t *testing.T) {
	t.Run("cancel interrupts a stalled read", func(t *testing.T) {
		src := openT(t, tsStream(t), Options{ReadTimeout: time.Minute})
		require.True(t, src.Info().Live)
		require.Equal(t, "h264", src.Info().Codec)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		errc := make(chan error, 1)
		go func() {
			errc <- src.Run(ctx, func(Frame) error { n.Add(1); return nil })
		}()
		require.Eventually(t, func() bool { return n.Load() >= 50 }, 10*time.Second, 10*time.Millisecond)
		time.Sleep(200 * time.Millisecond) // let Run block on the stalled socket
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(time.Second):
			t.Fatal("Run did not return within 1s of cancel")
		}
	})

	t.Run("read timeout", func(t *testing.T) {
		src := openT(t, tsStream(t), Options{ReadTimeout: 500 * time.Millisecond})
		var err error
		within(t, 5*time.Second, func() {
			err = src.Run(context.Background(), func(Frame) error { return nil })
		})
		require.ErrorIs(t, err, ErrTimeout)
		require.True(t, strings.HasPrefix(err.Error(), "read http://127.0.0.1:"), err.Error())
	})

	t.Run("close interrupts a stalled read", func(t *testing.T) {
		src, err := Open(context.Background(), tsStream(t), Options{ReadTimeout: time.Minute, Logger: quietLogger()})
		require.NoError(t, err)
		var n atomic.Int64
		errc := make(chan error, 1)
		go func() {
			errc <- src.Run(context.Background(), func(Frame) error { n.Add(1); return nil })
		}()
		require.Eventually(t, func() bool { return n.Load() >= 50 }, 10*time.Second, 10*time.Millisecond)
		within(t, time.Second, func() { require.NoError(t, src.Close()) })
		require.ErrorIs(t, <-errc, ErrClosed)
	})
}

func TestOpenNetworkTimeouts(t *testing.T) {
	addr := testutil.StallListener(t)
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"http", "http://user:secret@" + addr + "/live.flv", "open http://" + addr + "/live.flv: "},
		{"rtmp", "rtmp://user:secret@" + addr + "/live/x", "open rtmp://" + addr + "/live/x: "},
		{"rtsp", "rtsp://user:secret@" + addr + "/cam", "open rtsp://" + addr + "/cam: "},
	}
	for _, tc := range tests {
		t.Run(tc.name+" open timeout", func(t *testing.T) {
			var err error
			within(t, 2*time.Second, func() {
				_, err = Open(context.Background(), tc.url, Options{OpenTimeout: 300 * time.Millisecond, Logger: quietLogger()})
			})
			require.ErrorIs(t, err, ErrTimeout)
			require.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
			require.NotContains(t, err.Error(), "secret")
		})
		t.Run(tc.name+" context cancel", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var err error
			within(t, 2*time.Second, func() {
				_, err = Open(ctx, tc.url, Options{Logger: quietLogger()})
			})
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.NotContains(t, err.Error(), "secret")
		})
	}
}

func TestHLS(t *testing.T) {
	dir := t.TempDir()
	testutil.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "3", "-c:v", "libx264",
		"-preset", "ultrafast", "-g", "25", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
		filepath.Join(dir, "index.m3u8"))
	var requests atomic.Int64
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()

	t.Run("over http", func(t *testing.T) {
		src := openT(t, srv.URL+"/index.m3u8", Options{})
		require.False(t, src.Info().Live, "a finished playlist has a duration")
		ms := collect(t, src)
		require.Len(t, ms, 75)
		require.Equal(t, int64(0), ms[0])
		require.Equal(t, int64(74*40), ms[74])
	})

	t.Run("remote playlist cannot read local files", func(t *testing.T) {
		seg := filepath.Join(dir, "index0.ts")
		for name, ref := range map[string]string{
			"file":        "file://" + seg,
			"passwd":      "file:///etc/passwd",
			"concat":      "concat:" + seg + "|" + seg,
			"subfile":     "subfile,,start,0,end,0,,:" + seg,
			"relative fs": "../../../../../../.." + seg,
		} {
			evil := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n" + ref + "\n#EXT-X-ENDLIST\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "evil.m3u8"), []byte(evil), 0o600))
			before := requests.Load()
			src, err := Open(context.Background(), srv.URL+"/evil.m3u8", Options{Logger: quietLogger()})
			n := 0
			if err == nil {
				_ = src.Run(context.Background(), func(Frame) error { n++; return nil })
				_ = src.Close()
			}
			require.Zero(t, n, "%s: decoded frames from a local file named by a remote playlist", name)
			if name == "relative fs" {
				// Resolved against the playlist's URL: an HTTP request, never a local read.
				require.Greater(t, requests.Load(), before+1)
			}
		}
	})

	t.Run("local playlist cannot reach the network", func(t *testing.T) {
		local := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n" + srv.URL + "/index0.ts\n#EXT-X-ENDLIST\n"
		path := filepath.Join(t.TempDir(), "local.m3u8")
		require.NoError(t, os.WriteFile(path, []byte(local), 0o600))
		before := requests.Load()
		src, err := Open(context.Background(), path, Options{Logger: quietLogger()})
		if err == nil {
			defer src.Close()
			_ = src.Run(context.Background(), func(Frame) error { return nil })
		}
		require.Equal(t, before, requests.Load())
	})
}

func TestRouteLibavLogs(t *testing.T) {
	var buf testutil.SyncBuffer
	RouteLibavLogs(slog.New(slog.NewTextHandler(&buf, nil)), slog.LevelInfo)
	defer RouteLibavLogs(quietLogger(), slog.LevelError)

	addr := testutil.StallListener(t)
	_, err := Open(context.Background(), "rtmp://user:secret@"+addr+"/live/x",
		Options{OpenTimeout: 300 * time.Millisecond, Logger: quietLogger()})
	require.Error(t, err)
	text := filepath.Join(t.TempDir(), "a.txt")
	require.NoError(t, os.WriteFile(text, []byte(strings.Repeat("some notes\n", 50)), 0o600))
	_, err = Open(context.Background(), text, Options{Logger: quietLogger()})
	require.Error(t, err)

	// A remote playlist naming a long URL with credentials (on its own origin): logged
	// (libav logs every URL it opens at info level), cut at 1 KiB without overflowing,
	// and redacted.
	long := "/" + strings.Repeat("a", 3000) + ".ts"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == long {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://user:secret@%s%s\n#EXT-X-ENDLIST\n", r.Host, long)
	}))
	defer srv.Close()
	_, err = Open(context.Background(), srv.URL+"/long.m3u8", Options{Logger: quietLogger()})
	require.Error(t, err)

	out := buf.String()
	require.Contains(t, out, "Opening '"+srv.URL+"/aaaa")
	require.Contains(t, out, "component=libav")
	require.Contains(t, out, "not on whitelist")
	require.Contains(t, out, "level=ERROR")
	require.NotContains(t, out, "secret")
}

func TestRedactLogLine(t *testing.T) {
	require.Equal(t, "[hls @ 0x1] Opening 'https://cdn.example/seg1.ts' for reading",
		redactLogLine("[hls @ 0x1] Opening 'https://bob:pw@cdn.example/seg1.ts' for reading\n"))
	require.Equal(t, "rtmp://h/app and srt://h:1", redactLogLine("rtmp://u:p@h/app and srt://x@h:1"))
}

// A file cut off mid-packet: the frames the decoder still holds after the bad
// last packet come out, as many as ffmpeg decodes, before the failure is
// returned (on main, two frames fewer at every cut).
func TestCutFileGivesTheFramesFFmpegDecodes(t *testing.T) {
	// B-frames, as in recordings: the decoder holds frames back.
	full := testutil.Clip(t, "bframes.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3",
		"-c:v", "libx264", "-bf", "3", "-movflags", "+faststart")
	data, err := os.ReadFile(full)
	require.NoError(t, err)
	for tenth := 1; tenth < 10; tenth++ {
		t.Run(strconv.Itoa(tenth), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "cut.mp4")
			require.NoError(t, os.WriteFile(cut, data[:len(data)*tenth/10], 0o600))
			out, err := exec.Command("ffprobe", "-v", "quiet", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", cut).Output()
			require.NoError(t, err)
			want, err := strconv.Atoi(strings.TrimSpace(string(out)))
			require.NoError(t, err)

			n := 0
			err = openT(t, cut, Options{}).Run(context.Background(), func(Frame) error { n++; return nil })
			if err != nil {
				require.Contains(t, err.Error(), "cut.mp4")
			}
			require.Equal(t, want, n)
		})
	}
}

func TestLocalPath(t *testing.T) {
	wd := mustGetwd(t)
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"/a/b.mp4", "/a/b.mp4", true},
		{"b.mp4", filepath.Join(wd, "b.mp4"), true},
		{"file:///a/b.mp4", "/a/b.mp4", true},
		{"file:b.mp4", filepath.Join(wd, "b.mp4"), true},
		{"rtmp://host/live/x", "", false},
		{"concat:a|b", "", false},
	} {
		got, ok := LocalPath(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}
