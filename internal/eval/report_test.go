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
	r := &Report{Clips: []ClipResult{
		{
			Name: "a", Category: "plain", DurationMS: 8000, Truth: []Segment{gucci},
			Streamwatch: Side{Alerts: []Segment{found}, Score: ScoreClip([]Segment{gucci}, []Segment{found}), CPUSeconds: 1.2, Frames: 8},
			Baseline:    &Side{Score: ScoreClip([]Segment{gucci}, nil), CPUSeconds: 8, Frames: 8, Cached: true},
		},
		{
			Name: "b", Category: "negative", DurationMS: 8000,
			Streamwatch: Side{Score: ScoreClip(nil, []Segment{found}), CPUSeconds: 0.8, Frames: 8},
			Baseline:    &Side{Error: "tesseract died"},
		},
	}}
	r.summarize([]clipgen.Clip{{Name: "a", Category: "plain"}, {Name: "b", Category: "negative"}})

	require.Len(t, r.Categories, 2)
	require.Equal(t, 2, r.Overall.Clips)
	require.Equal(t, 1, r.Overall.Truth)
	require.Equal(t, 1.0, *r.Overall.Streamwatch.Recall)
	require.Equal(t, 0.5, *r.Overall.Streamwatch.Precision)
	require.Equal(t, 0.0, *r.Overall.Baseline.Recall)
	require.Nil(t, r.Overall.Baseline.Precision, "no baseline alert: precision undefined")
	require.Equal(t, 1, r.Overall.Baseline.Failed)
	require.Equal(t, 0.125, *r.MedianCPUPerFrame.Streamwatch)

	var out bytes.Buffer
	require.NoError(t, r.WriteTable(&out))
	lines := strings.Split(out.String(), "\n")
	require.Regexp(t, `^category +clips +offers +sw recall +sw precision +sw CPU s +base recall +base precision +base CPU s$`, lines[0])
	require.Regexp(t, `^plain +1 +1 +100% 1/1 +100% 1/1 +1\.2 +0% 0/1 +- 0/0 +8\.0$`, lines[1])
	require.Regexp(t, `^negative +1 +0 +- 0/0 +0% 0/1 +0\.8 +- 0/0 +- 0/0 +0\.0 \(1 failed\)$`, lines[2])
	require.Regexp(t, `^overall +2 +1 +100% 1/1 +50% 1/2 +2\.0 `, lines[3])
	require.Contains(t, out.String(), "baseline results of 1 of 2 clips came from the cache")
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
		Streamwatch: Side{Alerts: []Segment{late}, Other: []Segment{phraseOnly}, Score: ScoreClip([]Segment{gucci}, []Segment{late}),
			FrameStats: []FrameStat{{1000, 0, 0}, {2000, 1, 1}, {3000, 0, 0}}},
		Baseline: &Side{Score: ScoreClip([]Segment{gucci}, nil),
			FrameTexts: []FrameText{{1000, "y"}, {2000, "GUCCI\n1:1 rep1ica"}, {3000, " \n"}, {7000, "x"}}},
	}
	var out bytes.Buffer
	writeClipDetails(&out, c)
	s := out.String()
	require.Contains(t, s, `MISS 1.5–6.5s [gucci | replica]: alert 5–6s starts 3.5s after the offer (limit 3s)`)
	require.Contains(t, s, `meanwhile counterfeit-phrase 2–4s [ | replica]: 2s "GUCC1 1:1 replica"`)
	require.Contains(t, s, `lines/hits per frame meanwhile (from the debug log, which may lack frames): 2s 1/1 · 3s 0/0`)
	require.Contains(t, s, `OCR meanwhile (1 frames read nothing): 2s "GUCCI 1:1 rep1ica"`+"\n")
	require.NotContains(t, s, `1s "y"`)
	require.NotContains(t, s, `7s "x"`)
}
