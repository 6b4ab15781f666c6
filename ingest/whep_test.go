package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/internal/wheptest"
)

func TestParseICELinks(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []webrtc.ICEServer
	}{
		{name: "none", values: nil, want: nil},
		{
			name:   "one STUN server",
			values: []string{`<stun:stun.example.net>; rel="ice-server"`},
			want:   []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}},
		},
		{
			name: "TURN with credentials, two links in one header",
			values: []string{`<stun:stun.example.net:3478>; rel="ice-server", ` +
				`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="p;a,s\"s"; credential-type="password"`},
			want: []webrtc.ICEServer{
				{URLs: []string{"stun:stun.example.net:3478"}},
				{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "user", Credential: `p;a,s"s`,
					CredentialType: webrtc.ICECredentialTypePassword},
			},
		},
		{
			name: "unquoted rel among several relation types, repeated headers",
			values: []string{`<turns:turn.example.net:443?transport=tcp>;rel=ice-server;username=u;credential=c`,
				`<https://example.net/other>; rel="alternate"`, `<stun:b.example.net>; REL="preload ice-server"`},
			want: []webrtc.ICEServer{
				{URLs: []string{"turns:turn.example.net:443?transport=tcp"}, Username: "u", Credential: "c",
					CredentialType: webrtc.ICECredentialTypePassword},
				{URLs: []string{"stun:b.example.net"}},
			},
		},
		{
			name:   "other schemes and other relations skipped",
			values: []string{`<http://example.net/ice>; rel="ice-server"`, `<stun:a.example.net>; rel="next"`},
			want:   nil,
		},
		{
			name:   "malformed links skipped",
			values: []string{`stun:a.example.net; rel="ice-server"`, `<stun:b.example.net; rel="ice-server"`, `<stun:c.example.net>; rel="ice-server`, `<>; rel="ice-server"`},
			want:   nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseICELinks(tc.values))
		})
	}
}

func FuzzParseICELinks(f *testing.F) {
	f.Add(`<stun:stun.example.net>; rel="ice-server"`)
	f.Add(`<turn:t?transport=udp>; rel="ice-server"; username="u"; credential="c\"x", <stun:s>; rel=ice-server`)
	f.Add(`<a>;;=;"`)
	f.Fuzz(func(t *testing.T, v string) {
		for _, s := range parseICELinks([]string{v}) {
			require.Len(t, s.URLs, 1)
			require.NotEmpty(t, s.URLs[0])
		}
	})
}

func TestRTPUnwrap(t *testing.T) {
	tests := []struct {
		name string
		in   []uint32
		want []int64
	}{
		{name: "counts from the first", in: []uint32{1000, 4000, 7000}, want: []int64{0, 3000, 6000}},
		{name: "wraps at 2^32", in: []uint32{0xFFFFF000, 0xFFFFFF00, 0x00000100, 0x00001000}, want: []int64{0, 0xF00, 0x1100, 0x2000}},
		{name: "reordered step goes back", in: []uint32{90000, 93000, 96000, 94500, 99000}, want: []int64{0, 3000, 6000, 4500, 9000}},
		{name: "backwards across the wrap", in: []uint32{0x00000010, 0xFFFFFFF0, 0x00000100}, want: []int64{0, -0x20, 0xF0}},
		{name: "long run of wraps", in: []uint32{0, 0x7FFFFFFF, 0xFFFFFFFE, 0x7FFFFFFD, 0xFFFFFFFC}, want: []int64{0, 0x7FFFFFFF, 0xFFFFFFFE, 0x17FFFFFFD, 0x1FFFFFFFC}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u rtpUnwrapper
			var got []int64
			for _, ts := range tc.in {
				got = append(got, u.unwrap(ts))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseWHEPURL(t *testing.T) {
	tests := []struct {
		name, url, endpoint, token string
	}{
		{"plain http", "whep+http://127.0.0.1:8889/cam/whep", "http://127.0.0.1:8889/cam/whep", ""},
		{"token as password", "WHEP+HTTPS://:s3cret@example.net/whep?x=1", "https://example.net/whep?x=1", "s3cret"},
		{"token as user", "whep+https://s3cret@example.net/whep", "https://example.net/whep", "s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, tok, err := parseWHEP(tc.url)
			require.NoError(t, err)
			require.Equal(t, tc.endpoint, ep)
			require.Equal(t, tc.token, tok)
			require.NotContains(t, Redact(tc.url), "s3cret")
		})
	}
	_, _, err := parseWHEP("whep+http:///nohost")
	require.Error(t, err)
}

func startWHEPServer(t *testing.T, opts wheptest.Options) *wheptest.Server {
	t.Helper()
	srv, err := wheptest.Start(opts)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func whepURL(srv *wheptest.Server, userinfo string) string {
	return "whep+http://" + userinfo + strings.TrimPrefix(srv.URL, "http://") + "/whep"
}

func TestWHEPEndpointRefuses(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		sentinel  error
		temporary bool
	}{
		{"403 is permanent", http.StatusForbidden, ErrWHEPRefused, false},
		{"404 is permanent", http.StatusNotFound, ErrWHEPRefused, false},
		{"429 is temporary", http.StatusTooManyRequests, ErrWHEPUnavailable, true},
		{"503 is temporary", http.StatusServiceUnavailable, ErrWHEPUnavailable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWHEPServer(t, wheptest.Options{Status: tc.status})
			url := whepURL(srv, ":tok3n@")
			var logs testutil.SyncBuffer
			var s Stream
			var err error
			within(t, 5*time.Second, func() {
				s, err = OpenStream(context.Background(), url, Options{Logger: textLogger(&logs)})
			})
			require.Nil(t, s)
			require.ErrorIs(t, err, tc.sentinel)
			var se *WHEPStatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.status, se.Status)
			require.Equal(t, tc.temporary, se.Temporary())
			msg := err.Error()
			require.Contains(t, msg, strings.TrimPrefix(srv.URL, "http://")+"/whep")
			require.Contains(t, msg, http.StatusText(tc.status))
			require.Contains(t, msg, "refused by test")
			require.NotContains(t, msg, "tok3n")
			require.NotContains(t, logs.String(), "tok3n")
		})
	}
	t.Run("wrong token is refused", func(t *testing.T) {
		srv := startWHEPServer(t, wheptest.Options{Token: "right"})
		_, err := OpenStream(context.Background(), whepURL(srv, ":wrong@"), Options{Logger: quietLogger()})
		require.ErrorIs(t, err, ErrWHEPRefused)
		require.Contains(t, err.Error(), "401")
		require.NotContains(t, err.Error(), "wrong")
	})
	t.Run("nothing listening", func(t *testing.T) {
		srv := startWHEPServer(t, wheptest.Options{})
		url := whepURL(srv, "")
		srv.Close()
		_, err := OpenStream(context.Background(), url, Options{Logger: quietLogger()})
		require.Error(t, err)
		require.False(t, errors.Is(err, ErrWHEPRefused))
		require.Contains(t, err.Error(), strings.TrimPrefix(srv.URL, "http://"))
	})
}

// textLogger logs everything, down to debug, to w.
func textLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// feed sends the access units of an H.264 Annex B file or the frames of a VP8 IVF
// file to track at fps, in a loop, through a packetizer; lose(i) drops the i-th packet
// and swap(i) sends it after the next one. It returns when ctx ends.
func feed(ctx context.Context, t testing.TB, track *webrtc.TrackLocalStaticRTP, path string, fps int,
	lose, swap func(i int) bool,
) {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var (
		units [][]byte
		pay   rtp.Payloader
	)
	if strings.HasSuffix(path, ".ivf") {
		pay = &codecs.VP8Payloader{EnablePictureID: true}
		r, _, err := ivfreader.NewWith(bytes.NewReader(data))
		require.NoError(t, err)
		for {
			f, _, err := r.ParseNextFrame()
			if err != nil {
				break
			}
			units = append(units, f)
		}
	} else {
		pay = &codecs.H264Payloader{}
		units, err = wheptest.AccessUnits(data)
		require.NoError(t, err)
	}
	require.NotEmpty(t, units)
	pk := rtp.NewPacketizer(1200, 96, 0x1234, pay, rtp.NewRandomSequencer(), 90000)
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	var held *rtp.Packet
	i := 0
	for n := 0; ; n++ {
		for _, p := range pk.Packetize(units[n%len(units)], uint32(90000/fps)) {
			i++
			switch {
			case lose(i):
				continue
			case held == nil && swap(i):
				held = p
				continue
			}
			_ = track.WriteRTP(p)
			if held != nil {
				_ = track.WriteRTP(held)
				held = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func TestWHEPLossyLoopback(t *testing.T) {
	tests := []struct {
		name  string
		codec webrtc.RTPCodecCapability
		file  func(t testing.TB) string
		want  string
	}{
		{
			name: "h264", codec: wheptest.H264, want: "h264",
			file: func(t testing.TB) string {
				return testutil.Clip(t, "whep.h264", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
					"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
					"-g", "25", "-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-f", "h264")
			},
		},
		{
			name: "vp8", codec: wheptest.VP8, want: "vp8",
			file: func(t testing.TB) string {
				return testutil.Clip(t, "whep.ivf", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
					"-c:v", "libvpx", "-deadline", "realtime", "-b:v", "500k", "-g", "25", "-f", "ivf")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.file(t)
			srv := startWHEPServer(t, wheptest.Options{Codec: tc.codec, Token: "tok3n"})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }()
			wg.Go(func() {
				feed(ctx, t, srv.Track, path, 25,
					func(i int) bool { return i%41 == 7 }, // ~2.5% loss
					func(i int) bool { return i%13 == 3 }) // and reordering
			})

			var logs testutil.SyncBuffer
			s, err := OpenStream(context.Background(), whepURL(srv, ":tok3n@"), Options{Logger: textLogger(&logs), ReadTimeout: 5 * time.Second})
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, tc.want, s.Info().Codec)
			require.True(t, s.Info().Live)

			type got struct {
				ms   int64
				wall time.Time
			}
			var frames []got
			runCtx, stop := context.WithTimeout(context.Background(), 4*time.Second)
			defer stop()
			err = s.Run(runCtx, func(f Frame) error {
				require.Equal(t, 320, f.Width)
				require.Equal(t, 240, f.Height)
				require.NotNil(t, f.AV)
				frames = append(frames, got{f.MediaMS, f.Wall})
				return nil
			})
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Greater(t, len(frames), 40, "frames decoded in 4 s at 25 fps with loss")
			require.Equal(t, 320, s.Info().Width)
			require.Equal(t, 240, s.Info().Height)
			require.Zero(t, frames[0].ms)
			for i := 1; i < len(frames); i++ {
				require.GreaterOrEqual(t, frames[i].ms, frames[i-1].ms, "media time goes back at frame %d", i)
			}
			// Frames keep coming to the end despite loss, and media time follows the clock.
			last := frames[len(frames)-1]
			require.WithinDuration(t, time.Now(), last.wall, time.Second)
			span := last.wall.Sub(frames[0].wall).Milliseconds()
			require.InDelta(t, span, last.ms-frames[0].ms, 500)
			require.GreaterOrEqual(t, srv.PLIs(), int64(1), "PLI on join")

			require.NoError(t, s.Close())
			require.NoError(t, s.Close())
			require.Equal(t, []string{"/whep/1"}, srv.Deleted())
			require.Zero(t, srv.Sessions())
			require.NotContains(t, logs.String(), "tok3n")
		})
	}
}

func TestWHEPNoMediaTimesOut(t *testing.T) {
	srv := startWHEPServer(t, wheptest.Options{})
	s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: quietLogger(), ReadTimeout: time.Second})
	require.NoError(t, err)
	defer s.Close()
	start := time.Now()
	err = s.Run(context.Background(), func(Frame) error { return nil })
	require.ErrorIs(t, err, ErrTimeout)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, 0, s.Info().Width)
}

func TestWHEPCancelAndClose(t *testing.T) {
	path := testutil.Clip(t, "whep.h264", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
		"-g", "25", "-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-f", "h264")
	srv := startWHEPServer(t, wheptest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() {
		feed(ctx, t, srv.Track, path, 25, func(int) bool { return false }, func(int) bool { return false })
	})

	t.Run("cancel returns promptly", func(t *testing.T) {
		s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: quietLogger()})
		require.NoError(t, err)
		defer s.Close()
		runCtx, stop := context.WithCancel(context.Background())
		frames := 0
		var canceled time.Time
		err = s.Run(runCtx, func(Frame) error {
			if frames++; frames == 10 {
				canceled = time.Now()
				stop()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(canceled), 200*time.Millisecond)
		require.ErrorIs(t, s.Run(context.Background(), func(Frame) error { return nil }), ErrRunTwice)
	})
	t.Run("handler error returned as is", func(t *testing.T) {
		s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: quietLogger()})
		require.NoError(t, err)
		defer s.Close()
		boom := errors.New("boom")
		require.Equal(t, boom, s.Run(context.Background(), func(Frame) error { return boom }))
	})
	t.Run("close while running", func(t *testing.T) {
		s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: quietLogger()})
		require.NoError(t, err)
		started := make(chan struct{})
		var once sync.Once
		var runErr error
		var rwg sync.WaitGroup
		rwg.Go(func() {
			runErr = s.Run(context.Background(), func(Frame) error {
				once.Do(func() { close(started) })
				return nil
			})
		})
		<-started
		within(t, 2*time.Second, func() { require.NoError(t, s.Close()) })
		rwg.Wait()
		require.ErrorIs(t, runErr, ErrClosed)
		require.ErrorIs(t, s.Run(context.Background(), func(Frame) error { return nil }), ErrClosed)
	})
	require.Len(t, srv.Deleted(), 3)
}
