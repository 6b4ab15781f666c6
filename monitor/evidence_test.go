package monitor

import (
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/match"
)

// TestEvidenceOfAnEarlierFrameIsStored: a brand shown alone, then a
// phrase alone within the rule's window — the alert's evidence holds the
// brand's line from a frame that matched no rule by itself, and its image is
// stored (only frames with a matched line are kept for evidence).
func TestEvidenceOfAnEarlierFrameIsStored(t *testing.T) {
	path := gen(t, clipgen.Clip{Name: "split-offer", DurationMS: 10000, Background: "testsrc2",
		Captions: []clipgen.Caption{caption("GUCCI", 1000, 4000), caption("1:1 replica", 4000, 9000)}})
	dir := t.TempDir()
	sink := &collect{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, Run(ctx, Options{
		URL: path, StreamID: "test", Replay: true,
		Rules: FixedRules(match.DefaultRules()), Engine: sharedPool(t),
		Sink: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
		Evidence: alerts.DirStore{Dir: dir},
	}))
	segs := sink.segments("counterfeit-offer")
	require.Len(t, segs, 1, "one offer segment")
	var brandLine *alerts.Evidence
	for _, r := range sink.rs {
		for i, e := range r.Evidence {
			if e.AtMS < 4000 {
				brandLine = &r.Evidence[i]
			}
		}
	}
	for _, r := range sink.rs {
		require.NotEmpty(t, r.EvidenceFrame, "record %s.%d has its evidence frame", r.AlertID, r.Revision)
		require.FileExists(t, filepath.Join(dir, filepath.FromSlash(r.EvidenceFrame)))
	}
	require.NotNil(t, brandLine, "the brand's line, from before the phrase, is evidence")
	require.NotEmpty(t, brandLine.Crop, "its image is stored")
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(brandLine.Crop)))
	require.NoError(t, err)
	defer f.Close()
	_, err = jpeg.Decode(f)
	require.NoError(t, err)
}

// TestRecentFramesKeepOnlyTheNewestWhole: of the kept frames only the
// newest is whole; older ones keep their lines' pixels, nothing else.
func TestRecentFramesKeepOnlyTheNewestWhole(t *testing.T) {
	rf := newRecentFrames(3, 1)
	box := image.Rect(10, 20, 110, 50)
	for i := range 5 {
		img := image.NewGray(image.Rect(0, 0, 640, 360))
		img.Pix[img.PixOffset(15, 25)] = uint8(100 + i)
		rf.add(frames.Sampled{MediaMS: int64(i) * 1000, Image: img}, []image.Rectangle{box})
	}
	require.Nil(t, rf.line(0, box), "beyond the bound: gone")
	require.Nil(t, rf.frame(3000), "older frames are not kept whole")
	crop := rf.line(3000, box)
	require.NotNil(t, crop)
	require.Equal(t, box, crop.Rect, "a crop of the line, nothing more")
	require.Equal(t, uint8(103), crop.Pix[crop.PixOffset(15, 25)], "its own pixels")
	require.Nil(t, rf.line(3000, image.Rect(200, 200, 220, 220)), "no pixels outside its lines")
	require.NotNil(t, rf.frame(4000), "the newest is whole")
	require.Equal(t, uint8(104), rf.line(4000, box).Pix[rf.frame(4000).PixOffset(15, 25)])

	rf = newRecentFrames(3, 2)
	for i := range 5 {
		rf.add(frames.Sampled{MediaMS: int64(i) * 1000, Image: image.NewGray(image.Rect(0, 0, 64, 36))}, []image.Rectangle{box})
	}
	require.Nil(t, rf.frame(2000), "beyond the newest two: cut")
	require.NotNil(t, rf.frame(3000), "the newest two are whole")
	require.NotNil(t, rf.frame(4000))
}
