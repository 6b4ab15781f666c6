package ingest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// hlsDir is a directory with a finished 3 s HLS rendition (index.m3u8,
// index0.ts … index2.ts, 75 frames) and the same one AES-128 encrypted
// (enc.m3u8, enc0.ts …, key URI "KEYURL/key" to be filled in, key in "key").
func hlsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "3", "-c:v", "libx264",
		"-preset", "ultrafast", "-g", "25", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0"}
	testutil.FFmpeg(t, append(args, filepath.Join(dir, "index.m3u8"))...)
	key := []byte("0123456789abcdef")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key"), key, 0o600))
	info := "KEYURL/key\n" + filepath.Join(dir, "key") + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "enc.keyinfo"), []byte(info), 0o600))
	testutil.FFmpeg(t, append(args, "-hls_key_info_file", filepath.Join(dir, "enc.keyinfo"),
		"-hls_segment_filename", filepath.Join(dir, "enc%d.ts"), filepath.Join(dir, "enc.m3u8"))...)
	return dir
}

// counted serves dir over h (http or https), counting requests; extra
// answers the paths it knows first.
type counted struct {
	srv      *httptest.Server
	requests atomic.Int64
}

func serveCounted(t *testing.T, dir string, tls bool, extra func(w http.ResponseWriter, r *http.Request) bool) *counted {
	c := &counted{}
	files := http.FileServer(http.Dir(dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if extra == nil || !extra(w, r) {
			files.ServeHTTP(w, r)
		}
	})
	if tls {
		c.srv = httptest.NewTLSServer(h)
	} else {
		c.srv = httptest.NewServer(h)
	}
	t.Cleanup(c.srv.Close)
	return c
}

// playlist is a finished media playlist of the given segment URLs, 1 s each.
func playlist(segs ...string) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n")
	for _, s := range segs {
		fmt.Fprintf(&b, "#EXTINF:1.0,\n%s\n", s)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

// frames opens url with allowed origins and counts the frames it decodes.
func frames(t *testing.T, url string, allowed ...string) (int, error) {
	t.Helper()
	src, err := Open(context.Background(), url, Options{Logger: quietLogger(), AllowedOrigins: mustOrigins(t, allowed...)})
	if err != nil {
		return 0, err
	}
	defer src.Close()
	n := 0
	err = src.Run(context.Background(), func(Frame) error { n++; return nil })
	return n, err
}

// A playlist on server A naming segments, variants, keys or redirects on
// server B: nothing is fetched from B unless B's origin is allowed. (On
// main, every refused case decodes B's frames.)
func TestSourceFetchesOnlyFromAllowedOrigins(t *testing.T) {
	dir := hlsDir(t)
	b := serveCounted(t, dir, false, nil)
	bTLS := serveCounted(t, dir, true, nil)
	a := serveCounted(t, dir, false, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/b-segments.m3u8":
			fmt.Fprint(w, playlist(b.srv.URL+"/index0.ts", b.srv.URL+"/index1.ts", b.srv.URL+"/index2.ts"))
		case "/b-tls-segments.m3u8":
			fmt.Fprint(w, playlist(bTLS.srv.URL+"/index0.ts", bTLS.srv.URL+"/index1.ts", bTLS.srv.URL+"/index2.ts"))
		case "/b-variant.m3u8":
			fmt.Fprintf(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n%s/index.m3u8\n", b.srv.URL)
		case "/redirect.m3u8":
			http.Redirect(w, r, b.srv.URL+"/index.m3u8", http.StatusFound)
		case "/b-key.m3u8", "/own-key.m3u8":
			data, err := os.ReadFile(filepath.Join(dir, "enc.m3u8"))
			require.NoError(t, err)
			keyAt := b.srv.URL
			if r.URL.Path == "/own-key.m3u8" {
				keyAt = "http://" + r.Host
			}
			fmt.Fprint(w, strings.ReplaceAll(string(data), "KEYURL", keyAt))
		default:
			return false
		}
		return true
	})
	n, err := frames(t, a.srv.URL+"/index.m3u8")
	require.NoError(t, err)
	require.Equal(t, 75, n, "a same-origin playlist plays")
	n, err = frames(t, a.srv.URL+"/own-key.m3u8")
	require.NoError(t, err)
	require.Equal(t, 75, n, "a same-origin key decrypts")

	for _, tc := range []struct{ name, path, refused string }{
		{"segments", "/b-segments.m3u8", b.srv.URL},
		{"https segments", "/b-tls-segments.m3u8", bTLS.srv.URL},
		{"variant playlist", "/b-variant.m3u8", b.srv.URL},
		{"redirect", "/redirect.m3u8", b.srv.URL},
		{"key", "/b-key.m3u8", b.srv.URL},
	} {
		t.Run(tc.name+" refused", func(t *testing.T) {
			before, beforeTLS := b.requests.Load(), bTLS.requests.Load()
			n, err := frames(t, a.srv.URL+tc.path)
			require.Zero(t, n)
			require.ErrorIs(t, err, ErrOriginRefused)
			require.Contains(t, err.Error(), tc.refused+" is not the source's origin "+a.srv.URL)
			require.NotContains(t, err.Error(), "\n")
			require.Equal(t, before, b.requests.Load(), "B got a request")
			require.Equal(t, beforeTLS, bTLS.requests.Load(), "B (TLS) got a request")
		})
		t.Run(tc.name+" allowed", func(t *testing.T) {
			before := b.requests.Load() + bTLS.requests.Load()
			n, err := frames(t, a.srv.URL+tc.path, tc.refused)
			require.NoError(t, err)
			require.Equal(t, 75, n)
			require.Greater(t, b.requests.Load()+bTLS.requests.Load(), before)
		})
	}
	t.Run("sources open at once keep their own allowed origins", func(t *testing.T) {
		// One proxy serves them all: each source's token selects its policy.
		open := func(path string, allowed ...string) (*Source, error) {
			return Open(context.Background(), a.srv.URL+path, Options{Logger: quietLogger(), AllowedOrigins: mustOrigins(t, allowed...)})
		}
		own, err := open("/index.m3u8")
		require.NoError(t, err)
		defer own.Close()
		toB, err := open("/b-segments.m3u8", b.srv.URL)
		require.NoError(t, err)
		defer toB.Close()
		_, err = open("/b-segments.m3u8")
		require.ErrorIs(t, err, ErrOriginRefused)
		for _, src := range []*Source{own, toB} {
			n := 0
			require.NoError(t, src.Run(context.Background(), func(Frame) error { n++; return nil }))
			require.Equal(t, 75, n)
		}
	})
	t.Run("a redirect of a segment", func(t *testing.T) {
		// A segment on A that redirects to B: libav follows it itself, through the proxy.
		a2 := serveCounted(t, dir, false, func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasPrefix(r.URL.Path, "/index") && strings.HasSuffix(r.URL.Path, ".ts") {
				http.Redirect(w, r, b.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
				return true
			}
			return false
		})
		before := b.requests.Load()
		n, err := frames(t, a2.srv.URL+"/index.m3u8")
		require.Zero(t, n)
		require.ErrorContains(t, err, "origin refused: "+b.srv.URL+" is not the source's origin")
		require.Equal(t, before, b.requests.Load())
	})
}

// An origin allowed by a pattern must be at a public address: a name that
// resolves to loopback is refused when the proxy dials (it dials the address
// it checked, so a second DNS answer cannot change it); the same origin named
// exactly may be anywhere.
func TestPatternOriginAtPrivateAddressRefused(t *testing.T) {
	dir := hlsDir(t)
	b := serveCounted(t, dir, false, nil)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(b.srv.URL, "http://"))
	require.NoError(t, err)
	var lookups atomic.Int64
	orig := lookupNetIP
	lookupNetIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		if host == "seg.cdn.test" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupNetIP = orig })
	seg := "http://seg.cdn.test:" + port
	a := serveCounted(t, dir, false, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/cdn.m3u8" {
			return false
		}
		fmt.Fprint(w, playlist(seg+"/index0.ts", seg+"/index1.ts", seg+"/index2.ts"))
		return true
	})

	n, err := frames(t, a.srv.URL+"/cdn.m3u8", "http://*.cdn.test:"+port)
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrAddressRefused)
	require.True(t, IsPermanent(err))
	require.ErrorContains(t, err, seg+" is at a private or local address (127.0.0.1)")
	require.Zero(t, b.requests.Load())
	require.Positive(t, lookups.Load(), "the proxy resolved the name, not libav")

	n, err = frames(t, a.srv.URL+"/cdn.m3u8", seg)
	require.NoError(t, err)
	require.Equal(t, 75, n)
	require.Positive(t, b.requests.Load())
}

// A refusal ends a supervised stream at its first open, with no retry, and a
// live stream whose playlist later names another origin ends too; HTTP 400
// and 401 on the source are permanent, 404 and a refused connection are
// retried. (On main, every refusal was retried until ctx ended.)
func TestSupervisedRefusalIsPermanent(t *testing.T) {
	dir := hlsDir(t)
	b := serveCounted(t, dir, false, nil)
	a := serveCounted(t, dir, false, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/passwd.m3u8":
			fmt.Fprint(w, playlist("file:///etc/passwd"))
		case "/passwd-ts.m3u8":
			fmt.Fprint(w, playlist("file:///etc/passwd.ts"))
		case "/concat.m3u8":
			fmt.Fprint(w, playlist("concat:/etc/passwd|/etc/passwd.ts"))
		case "/cross.m3u8":
			fmt.Fprint(w, playlist(b.srv.URL+"/index0.ts"))
		case "/400.m3u8":
			http.Error(w, "bad", http.StatusBadRequest)
		case "/401.m3u8":
			http.Error(w, "who", http.StatusUnauthorized)
		case "/404.m3u8":
			http.NotFound(w, r)
		default:
			return false
		}
		return true
	})
	for _, tc := range []struct {
		name, url string
		permanent bool
		contains  string
	}{
		{"local file", a.srv.URL + "/passwd.m3u8", true, "protocol refused: the playlist names what libav refuses to open: URL file:///etc/passwd"},
		{"local file with a media extension", a.srv.URL + "/passwd-ts.m3u8", true, "protocol refused: a network source may not open local files: file:///etc/passwd.ts"},
		{"another protocol", a.srv.URL + "/concat.m3u8", true, "protocol refused: a network source may not open concat URLs"},
		{"another origin", a.srv.URL + "/cross.m3u8", true, "origin refused: " + b.srv.URL},
		{"400", a.srv.URL + "/400.m3u8", true, "400 Bad Request"},
		{"401", a.srv.URL + "/401.m3u8", true, "401 Unauthorized"},
		{"404", a.srv.URL + "/404.m3u8", false, "404 Not Found"},
		{"connection refused", "http://" + closedPort(t) + "/live.m3u8", false, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log statusLog
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := Supervise(ctx, tc.url, Options{Logger: quietLogger()},
				SuperviseOptions{InitialBackoff: 20 * time.Millisecond, Status: log.add})
			require.Error(t, err)
			if tc.permanent {
				require.True(t, IsPermanent(err), err.Error())
				require.NoError(t, ctx.Err(), "gave up before ctx ended")
				require.Empty(t, log.all(), "no retry")
				require.Contains(t, err.Error(), tc.contains)
				return
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)
			events := log.all()
			require.GreaterOrEqual(t, len(events), 2, "retried")
			require.Contains(t, events[0].Err.Error(), tc.contains)
			require.False(t, IsPermanent(events[0].Err))
		})
	}
	require.Zero(t, b.requests.Load())
}

// A live playlist that names another origin after frames flowed: the stream
// ends (state ended with the refusal) instead of reconnecting.
func TestLiveRefusalAfterFramesEndsStream(t *testing.T) {
	dir := hlsDir(t)
	b := serveCounted(t, dir, false, nil)
	var reloads atomic.Int64
	a := serveCounted(t, dir, false, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/live.m3u8" {
			return false
		}
		segs := "#EXTINF:1.0,\nindex0.ts\n#EXTINF:1.0,\nindex1.ts\n"
		if reloads.Add(1) > 1 {
			segs += "#EXTINF:1.0,\n" + b.srv.URL + "/index2.ts\n"
		}
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"+segs)
		return true
	})
	var log statusLog
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sup, err := Supervise(ctx, a.srv.URL+"/live.m3u8", Options{Logger: quietLogger()},
		SuperviseOptions{InitialBackoff: 20 * time.Millisecond, Status: log.add})
	require.NoError(t, err)
	defer sup.Close()
	n := 0
	err = sup.Run(ctx, func(Frame) error { n++; return nil })
	require.ErrorIs(t, err, ErrOriginRefused)
	require.NoError(t, ctx.Err())
	require.Positive(t, n)
	require.Equal(t, []State{StateAttached, StateEnded}, log.states())
	require.ErrorIs(t, log.all()[1].Err, ErrOriginRefused)
	require.Zero(t, b.requests.Load())
}
