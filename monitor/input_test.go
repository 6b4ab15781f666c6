package monitor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
)

// requireOffer checks that sink holds one counterfeit-offer segment whose
// evidence reads want.
func requireOffer(t *testing.T, sink *collect, want string) {
	t.Helper()
	segs := sink.segments("counterfeit-offer")
	require.Len(t, segs, 1, "records: %+v", sink.rs)
	require.Contains(t, segs[0].Brands, "gucci")
	require.Contains(t, segs[0].Phrases, "replica")
	require.NotEmpty(t, segs[0].Evidence)
	require.Contains(t, segs[0].Evidence[0].Text, want)
}

// TestReplayReadsBigCaptionsOnUHDFrames: a caption a few hundred pixels high
// on a 4K or 8K frame is as much a caption as a 48 px one at 720p.
func TestReplayReadsBigCaptionsOnUHDFrames(t *testing.T) {
	tests := []struct {
		name          string
		width, height int
		size          int
		durationMS    int64
		fps           int
		background    string
	}{
		// 250 px glyphs: a line about 280 px high, past the 160 px of 1080p.
		{name: "4K", width: 3840, height: 2160, size: 250, durationMS: 3000, background: "testsrc2"},
		// Few frames: an 8K frame takes x264 and the decoder long.
		{name: "8K", width: 7680, height: 4320, size: 300, durationMS: 2000, fps: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "GUCCI 1:1 replica"
			path := gen(t, clipgen.Clip{Name: "uhd-" + tc.name, Width: tc.width, Height: tc.height,
				DurationMS: tc.durationMS, FPS: tc.fps, Background: tc.background,
				Captions: []clipgen.Caption{{Text: text, StartMS: 0, EndMS: tc.durationMS, Size: tc.size, Box: "black@0.6"}}})
			requireOffer(t, replay(t, path, ""), text)
		})
	}
}

// TestReplayHonoursDisplayMatrix: a phone's portrait video stored as
// landscape pictures, with a display matrix that turns them upright, is read
// upright. The pictures are turned with ffmpeg so that, shown as ffmpeg's
// autorotate shows them, the caption stands upright; read as stored it runs
// down the frame and nothing is found.
func TestReplayHonoursDisplayMatrix(t *testing.T) {
	tests := []struct {
		tag   string // ffmpeg 5.1's rotate metadata, written as the MP4 track's matrix
		store string // the filter that lays the upright picture on its side
	}{
		{tag: "270", store: "transpose=cclock"}, // ffprobe: rotation -90
		{tag: "90", store: "transpose=clock"},   // ffprobe: rotation 90
	}
	text := "GUCCI bag 1:1 replica"
	upright := gen(t, clipgen.Clip{Name: "portrait", DurationMS: 5000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption(text, 0, 5000)}})
	for _, tc := range tests {
		t.Run("rotate="+tc.tag, func(t *testing.T) {
			dir := t.TempDir()
			sideways, tagged := filepath.Join(dir, "sideways.mp4"), filepath.Join(dir, "tagged.mp4")
			testutil.FFmpeg(t, "-i", upright, "-vf", tc.store, "-c:v", "libx264", "-preset", "veryfast",
				"-crf", "20", "-g", "50", sideways)
			testutil.FFmpeg(t, "-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate="+tc.tag, tagged)
			requireOffer(t, replay(t, tagged, ""), text)
		})
	}
}

// TestWatchOfAFileLosesNoCaption: a file watched as fast as it decodes (no
// --realtime, not a replay) has no live edge to keep up with, so frames wait
// for a slow reader instead of being dropped, and every caption is alerted.
func TestWatchOfAFileLosesNoCaption(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "file-watch", DurationMS: 9000, Background: "testsrc2",
		Captions: []clipgen.Caption{
			caption("GUCCI bag 1:1 replica", 1000, 3000),
			caption("LV AAA quality wallet", 5000, 7000),
		}})
	sink := &collect{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := Run(ctx, Options{
		URL: path, StreamID: "file", Rules: FixedRules(match.DefaultRules()),
		Engine: &slowEngine{Engine: sharedPool(t), delay: 300 * time.Millisecond},
		Sink:   sink, Metrics: NewMetrics(prometheus.NewRegistry()),
	})
	require.NoError(t, err)
	segs := sink.segments("counterfeit-offer")
	var brands []string
	for _, s := range segs {
		brands = append(brands, s.Brands...)
	}
	require.ElementsMatch(t, []string{"gucci", "louis-vuitton"}, brands, "records: %+v", sink.rs)
}
