package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// offerHLS cuts offerClip into a finished HLS playlist (index.m3u8, 2 s segments).
func offerHLS(t *testing.T) string {
	dir := t.TempDir()
	testutil.FFmpeg(t, "-i", offerClip(t), "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg%d.ts"), filepath.Join(dir, "index.m3u8"))
	return dir
}

// errLine is the last line of stderr, which must be the command's one error line.
func errLine(t *testing.T, stderr string) string {
	t.Helper()
	last := lastLine(stderr)
	require.True(t, strings.HasPrefix(last, "streamwatch: "), "last line: %q", last)
	return last
}

// watch of a playlist on server A whose segments are on server B: refused
// with one line naming B, and B never asked, unless --allow-source-origin
// names B, when B's captions are read; a playlist naming a local file ends
// at once with one line. (On main the first alerts on B's caption and the
// last is retried until the process is killed.)
func TestWatchPlaylistOtherOrigin(t *testing.T) {
	dir := offerHLS(t)
	var bRequests atomic.Int64
	files := http.FileServer(http.Dir(dir))
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bRequests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer b.Close()
	playlist, err := os.ReadFile(filepath.Join(dir, "index.m3u8"))
	require.NoError(t, err)
	cross := strings.ReplaceAll(string(playlist), "seg", b.URL+"/seg")
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cross.m3u8":
			fmt.Fprint(w, cross)
		case "/passwd.m3u8":
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer a.Close()

	t.Run("refused", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alerts.jsonl")
		r := runBin(t, time.Minute, "", "watch", a.URL+"/cross.m3u8", "--metrics-addr", "", "--out", out)
		require.Equal(t, 1, r.code, r.stderr)
		last := errLine(t, r.stderr)
		require.Contains(t, last, "origin refused: "+b.URL+" is not the source's origin "+a.URL)
		require.Contains(t, last, "--allow-source-origin")
		require.NotContains(t, r.stderr, "reconnecting")
		require.Equal(t, 2, strings.Count(r.stderr, "origin refused"), "one log line and the error line: %s", r.stderr)
		require.Zero(t, bRequests.Load(), "B got a request")
		data, err := os.ReadFile(out)
		if err == nil {
			require.Empty(t, data)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alerts.jsonl")
		// Paced, so that OCR keeps up and the caption's whole span is read.
		r := runBin(t, 3*time.Minute, "", "watch", a.URL+"/cross.m3u8", "--metrics-addr", "", "--out", out,
			"--allow-source-origin", b.URL, "--realtime")
		require.Equal(t, 0, r.code, r.stderr)
		require.Positive(t, bRequests.Load())
		requireOfferClipAlert(t, readRecords(t, out))
	})
	t.Run("local file", func(t *testing.T) {
		start := time.Now()
		r := runBin(t, time.Minute, "", "watch", a.URL+"/passwd.m3u8", "--metrics-addr", "")
		require.Equal(t, 1, r.code, r.stderr)
		require.Contains(t, errLine(t, r.stderr), "protocol refused")
		require.Contains(t, errLine(t, r.stderr), "file:///etc/passwd")
		require.NotContains(t, r.stderr, "reconnecting")
		require.Equal(t, 1, strings.Count(r.stderr, "stream ended"), r.stderr)
		require.Equal(t, 2, strings.Count(r.stderr, "file:///etc/passwd"), "one log line and the error line: %s", r.stderr)
		require.Less(t, time.Since(start), 30*time.Second)
	})
	t.Run("bad origin flag", func(t *testing.T) {
		r := runBin(t, time.Minute, "", "watch", a.URL+"/cross.m3u8", "--allow-source-origin", "ftp://x")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, errLine(t, r.stderr), "bad origin")
	})
}
