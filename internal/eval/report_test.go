package eval

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

func TestReportTable(t *testing.T) {
	gucci := offer(1500, 6500, "gucci", "replica")
	found := alert(2000, 6000, []string{"gucci"}, []string{"replica"})
	r := &Report{Engines: []string{"tesseract", "ppocr"}, Clips: []ClipResult{
		{
			Name: "a", Category: "plain", DurationMS: 8000, Truth: []Segment{gucci},
			Streamwatch: []Side{
				{Engine: "tesseract", Alerts: []Segment{found}, Score: ScoreClip([]Segment{gucci}, []Segment{found}), CPUSeconds: 1.2, Frames: 8},
				{Engine: "ppocr", Score: ScoreClip([]Segment{gucci}, nil), CPUSeconds: 2.4, Frames: 8},
			},
			Baseline: &Side{Score: ScoreClip([]Segment{gucci}, nil), CPUSeconds: 8, Frames: 8, Cached: true},
		},
		{
			Name: "b", Category: "negative", DurationMS: 8000,
			Streamwatch: []Side{
				{Engine: "tesseract", Score: ScoreClip(nil, []Segment{found}), CPUSeconds: 0.8, Frames: 8},
				{Engine: "ppocr", Error: "no model"},
			},
			Baseline: &Side{Error: "tesseract died"},
		},
		{
			Name: "h", Category: "ho-sticker", HeldOut: true, DurationMS: 6000, Truth: []Segment{gucci},
			Streamwatch: []Side{
				{Engine: "tesseract", Score: ScoreClip([]Segment{gucci}, nil), CPUSeconds: 0.6, Frames: 6},
				{Engine: "ppocr", Alerts: []Segment{found}, Score: ScoreClip([]Segment{gucci}, []Segment{found}), CPUSeconds: 3, Frames: 6},
			},
			Baseline: &Side{Score: ScoreClip([]Segment{gucci}, nil), CPUSeconds: 6, Frames: 6},
		},
	}}
	r.StartupCPUSeconds = map[string]float64{"tesseract": 0.3}
	r.summarize([]clipgen.Clip{{Name: "h", Category: "ho-sticker", HeldOut: true}, {Name: "a", Category: "plain"}, {Name: "b", Category: "negative"}})

	require.Len(t, r.Categories, 3)
	require.Equal(t, "ho-sticker", r.Categories[2].Category, "held-out categories come last")
	require.Len(t, r.Sets, 2)
	require.Equal(t, 2, r.Sets[0].Clips)
	require.Equal(t, 1, r.Sets[1].Clips)
	require.Equal(t, 0.0, *r.Sets[1].Streamwatch[0].Recall)
	require.Equal(t, 1.0, *r.Sets[1].Streamwatch[1].Recall)
	require.Equal(t, 3, r.Overall.Clips)
	require.Equal(t, 2, r.Overall.Truth)
	require.Equal(t, 0.5, *r.Overall.Streamwatch[0].Recall)
	require.Equal(t, 0.5, *r.Overall.Streamwatch[0].Precision)
	require.Equal(t, 1, r.Overall.Streamwatch[1].Failed)
	require.Equal(t, 0.0, *r.Overall.Baseline.Recall)
	require.Nil(t, r.Overall.Baseline.Precision, "no baseline alert: precision undefined")
	require.Equal(t, 1, r.Overall.Baseline.Failed)
	require.Equal(t, 0.1, *r.MedianCPUPerFrame.Streamwatch["tesseract"])
	require.Equal(t, 0.4, *r.MedianCPUPerFrame.Streamwatch["ppocr"])
	// 2.6 CPU s over 22 s of video; ppocr 5.4 over the 14 s it was scored on.
	require.Equal(t, 7.09, *r.Overall.Streamwatch[0].CPUPerMinute)
	require.Equal(t, 23.14, *r.Overall.Streamwatch[1].CPUPerMinute)
	// After start-up: 0.3 s less per clip, 1.7 CPU s over 22 s; ppocr's start-up was not measured.
	require.Equal(t, 4.64, *r.Overall.Streamwatch[0].SteadyPerMinute)
	require.Nil(t, r.Overall.Streamwatch[1].SteadyPerMinute)

	var out bytes.Buffer
	require.NoError(t, r.WriteTable(&out))
	lines := strings.Split(out.String(), "\n")
	require.Regexp(t, `^category +clips +offers +tesseract recall +tesseract precision +tesseract CPU s/frame +tesseract CPU s/min +tesseract CPU s/min after start-up +ppocr recall +ppocr precision +ppocr CPU s/frame +ppocr CPU s/min +ppocr CPU s/min after start-up +base recall +base precision +base CPU s/frame$`, lines[0])
	require.Regexp(t, `^plain +1 +1 +100% 1/1 +100% 1/1 +0\.150 +9\.00 +6\.75 +0% 0/1 +- 0/0 +0\.300 +18\.00 +- +0% 0/1 +- 0/0 +1\.000$`, lines[1])
	require.Regexp(t, `^negative +1 +0 +- 0/0 +0% 0/1 +0\.100 +6\.00 +3\.75 +- 0/0 +- 0/0 +- \(1 failed\) +- +- +- 0/0 +- 0/0 +- \(1 failed\)$`, lines[2])
	require.Regexp(t, `^ho-sticker \* +1 +1 +0% 0/1 +- 0/0 +0\.100 +6\.00 +3\.00 +100% 1/1 +100% 1/1 +0\.500 +30\.00 +- `, lines[3])
	require.Regexp(t, `^tuned-on set +2 +1 +100% 1/1 +50% 1/2 `, lines[4])
	require.Regexp(t, `^held-out set \* +1 +1 +0% 0/1 `, lines[5])
	require.Regexp(t, `^overall +3 +2 +50% 1/2 +50% 1/2 `, lines[6])
	require.Contains(t, out.String(), "* held-out set: made before any tuning")
	require.Contains(t, out.String(), "ppocr CPU s per sampled frame (whole process: start-up, decode, OCR, match; clip CPU / sampled frames at 1 fps), median over clips: 0.400")
	require.Contains(t, out.String(), "tesseract CPU s/min after start-up: each clip's CPU less 0.30 s")
	require.NotContains(t, out.String(), "ppocr CPU s/min after start-up:")
	require.Contains(t, out.String(), "ppocr failed on 1 clips")
	require.Contains(t, out.String(), "baseline results of 1 of 3 clips came from the cache")
	require.Contains(t, out.String(), "baseline failed on 1 clips")
}

func TestClipDetails(t *testing.T) {
	gucci := offer(1500, 6500, "gucci", "replica")
	gucci.Evidence = []Evidence{{1500, "GUCCI 1:1 replica"}}
	late := alert(5000, 6000, []string{"gucci"}, []string{"replica"})
	late.Evidence = []Evidence{{5000, "GUCCI 1:1 replica"}}
	phraseOnly := Segment{StartMS: 2000, EndMS: 4000, Phrases: []string{"replica"}, Rule: "counterfeit-phrase",
		Evidence: []Evidence{{2000, "GUCC1 1:1 replica"}}}
	c := ClipResult{
		Name: "a", Category: "plain", DurationMS: 8000, Truth: []Segment{gucci},
		Streamwatch: []Side{{Engine: "ppocr", Alerts: []Segment{late}, Other: []Segment{phraseOnly}, Score: ScoreClip([]Segment{gucci}, []Segment{late}),
			FrameStats: []FrameStat{{1000, 0, 0}, {2000, 1, 1}, {3000, 0, 0}}}},
		Baseline: &Side{Score: ScoreClip([]Segment{gucci}, nil),
			FrameTexts: []FrameText{{1000, "y"}, {2000, "GUCCI\n1:1 rep1ica"}, {3000, " \n"}, {7000, "x"}}},
	}
	var out bytes.Buffer
	writeClipDetails(&out, c)
	s := out.String()
	require.Contains(t, s, "  streamwatch --ocr-engine ppocr: found 0/1, alerts 1 (0 false)")
	require.Contains(t, s, `MISS 1.5–6.5s [gucci | replica]: alert 5–6s starts 3.5s after the offer (limit 3s)`)
	require.Contains(t, s, `meanwhile counterfeit-phrase 2–4s [ | replica]: 2s "GUCC1 1:1 replica"`)
	require.Contains(t, s, `lines/hits per frame meanwhile (from the debug log, which may lack frames): 2s 1/1 · 3s 0/0`)
	require.Contains(t, s, `OCR meanwhile (1 frames read nothing): 2s "GUCCI 1:1 rep1ica"`+"\n")
	require.NotContains(t, s, `1s "y"`)
	require.NotContains(t, s, `7s "x"`)
}
