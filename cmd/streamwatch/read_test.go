package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/monitor"
)

// readClip shows an innocent caption from 1 s to 4 s, then an offer from
// 5 s to 8 s, at another place.
func readClip(t *testing.T) string {
	return testutil.Generate(t, clipgen.Clip{
		Name: "read-two", DurationMS: 10000, Background: "testsrc2",
		Captions: []clipgen.Caption{
			{Text: "Fresh stock today", StartMS: 1000, EndMS: 4000, Size: 48, Box: "black@0.6", Y: "200"},
			{Text: "GUCCI bag 1:1 replica", StartMS: 5000, EndMS: 8000, Size: 48, Box: "black@0.6"},
		},
	})
}

// readReports parses read's stdout.
func readReports(t *testing.T, stdout string) []monitor.FrameReport {
	t.Helper()
	var rs []monitor.FrameReport
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r monitor.FrameReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		rs = append(rs, r)
	}
	require.NoError(t, sc.Err())
	return rs
}

// lineWith returns the first line of r whose text holds s.
func lineWith(r monitor.FrameReport, s string) (monitor.LineReport, bool) {
	for _, l := range r.Lines {
		if strings.Contains(l.Text, s) {
			return l, true
		}
	}
	return monitor.LineReport{}, false
}

func TestReadPrintsLinesAndSpansAtTheirMediaTimes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "frames")
	r := runBin(t, 3*time.Minute, "", "read", readClip(t), "--frames-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	reports := readReports(t, r.stdout)
	require.Len(t, reports, 10, "one line per sampled frame, 1/s of 10 s")

	var fresh, offer []int64
	reused := false
	for i, rep := range reports {
		require.Equal(t, int64(i), rep.Seq)
		require.InDelta(t, i*1000, rep.MediaMS, 80, "sampled at 1/s")
		if l, ok := lineWith(rep, "Fresh stock"); ok {
			fresh = append(fresh, rep.MediaMS)
			require.Empty(t, l.Spans, "nothing to match in %q", l.Text)
			require.Equal(t, "tesseract", l.Engine)
		}
		l, ok := lineWith(rep, "GUCCI")
		if !ok {
			require.Empty(t, rep.Hits, "no hit without the offer at %d ms", rep.MediaMS)
			continue
		}
		offer = append(offer, rep.MediaMS)
		reused = reused || l.Reused
		require.Equal(t, "GUCCI bag 1:1 replica", l.Text)
		require.Greater(t, l.Confidence, 80.0)
		require.Equal(t, []string{"gucci"}, l.Brands)
		require.Equal(t, []string{"replica"}, l.Phrases)
		require.Contains(t, l.Spans, match.Span{Start: 0, End: 5, Kind: match.KindBrand, ID: "gucci", Term: "Gucci", Text: "GUCCI", How: match.HowExact})
		require.Contains(t, l.Spans, match.Span{Start: 14, End: 21, Kind: match.KindPhrase, ID: "replica", Term: "replica", Text: "replica", How: match.HowExact})
		require.NotEmpty(t, rep.Hits)
		require.Equal(t, "counterfeit-offer", rep.Hits[0].Rule)

		// The offer's box is drawn in red on the frame's JPEG.
		require.Equal(t, filepath.Join(dir, filepath.Base(rep.Frame)), rep.Frame)
		f, err := os.Open(rep.Frame)
		require.NoError(t, err)
		img, err := jpeg.Decode(f)
		require.NoError(t, f.Close())
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, 720, 1280), img.Bounds())
		cr, cg, cb, _ := img.At(l.Box.X+l.Box.W/2, l.Box.Y-1).RGBA()
		require.Greater(t, cr>>8, uint32(150), "red box edge above the line")
		require.Less(t, cg>>8, uint32(90))
		require.Less(t, cb>>8, uint32(90))
	}
	require.Equal(t, []int64{1000, 2000, 3000}, fresh, "the innocent caption at 1-4 s")
	require.Equal(t, []int64{5000, 6000, 7000}, offer, "the offer at 5-8 s")
	require.True(t, reused, "the unchanged offer is not read again in every frame")
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	require.NoError(t, err)
	require.Len(t, files, len(reports))
}

// TestReadALiveURL reads an HTTP-FLV stream that ffmpeg serves in real
// time: the offer's line and spans come as the stream plays, and SIGINT
// ends read normally, with what it printed complete.
func TestReadALiveURL(t *testing.T) {
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/live.flv", port)
	publishClip(t, readClip(t), "flv", url, "-listen", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "read", url)
	cmd.Env = append(os.Environ(), "NATS_URL=")
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	var offer *monitor.FrameReport
	for offer == nil && sc.Scan() {
		var r monitor.FrameReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		if l, ok := lineWith(r, "GUCCI"); ok && len(l.Spans) > 0 {
			offer = &r
		}
	}
	require.NotNil(t, offer, "no line with the offer; stderr: %s", stderr.String())
	require.InDelta(t, 5500, offer.MediaMS, 1500, "the offer is shown from 5 s")
	l, _ := lineWith(*offer, "GUCCI")
	require.Equal(t, []string{"gucci"}, l.Brands)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	for sc.Scan() {
		var r monitor.FrameReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "every line whole after SIGINT: %s", sc.Text())
	}
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.NoError(t, ctx.Err())
	require.NotContains(t, stderr.String(), "embedded NATS")
}

func TestReadHelpShowsOnlyItsFlags(t *testing.T) {
	r := runBin(t, 30*time.Second, "", "read", "-h")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Usage: streamwatch read FILE|URL")
	require.Contains(t, r.stdout, "-frames-dir")
	require.Contains(t, r.stdout, "-rules")
	for _, name := range readRefused {
		require.NotContains(t, r.stdout, "-"+name+" ", "refused flag %s listed", name)
	}
}
