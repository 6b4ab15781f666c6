package ppocr

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/ocr"
)

// TestAutoReadsEachLineWithTheEngineThatWins runs the stage as a stream
// would, over one picture: a level caption is Tesseract's; a tilted one,
// which the classical detector cuts into fragments read without
// confidence, is PP-OCR's from the next frame on (its detector runs around
// the fragments); a third frame reuses both readings and detects nothing
// again.
func TestAutoReadsEachLineWithTheEngineThatWins(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	img := testutil.LoadGray(t, frame(t, "[bg]drawtext=fontfile="+sansFont+":textfile="+textFile(t, "Live sale tonight")+
		":fontsize=40:fontcolor=white:box=1:boxcolor=black@0.7:boxborderw=10:x=80:y=600[c];"+
		"color=c=black@0:size=900x200,format=rgba,drawtext=fontfile="+cjkFont+":textfile="+textFile(t, "古驰 高仿包 特价")+
		":fontsize=56:fontcolor=yellow:borderw=2:x=(w-tw)/2:y=(h-th)/2,rotate=12*PI/180:c=none:ow=rotw(12*PI/180):oh=roth(12*PI/180)[t];[c][t]overlay=150:120"))

	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	r, err := lines.NewReader(lines.Options{Engine: a, Propose: st})
	require.NoError(t, err)
	defer r.Close()
	read := func() map[string]lines.Line {
		p, err := r.Start(context.Background(), img)
		require.NoError(t, err)
		got, err := p.Wait()
		require.NoError(t, err)
		m := map[string]lines.Line{}
		for _, l := range got {
			m[squeeze(l.Text)] = l
		}
		return m
	}
	first := read()
	require.NotContains(t, first, "古驰高仿包特价", "%v", first)
	for _, l := range first {
		t.Logf("%v %q %.0f %s", l.Box, l.Text, l.Confidence, l.Engine)
	}
	require.Zero(t, st.detections, "no detection before a doubtful line")
	first = read()
	require.Equal(t, 1, st.detections)
	require.Contains(t, first, "古驰高仿包特价", "%v", first)
	require.Equal(t, "ppocr", first["古驰高仿包特价"].Engine)
	require.Contains(t, first, "Livesaletonight", "%v", first)
	require.Equal(t, "tesseract", first["Livesaletonight"].Engine)

	second := read()
	require.True(t, second["古驰高仿包特价"].Reused, "%v", second)
	require.True(t, second["Livesaletonight"].Reused, "%v", second)
	for _, l := range second {
		require.True(t, l.Reused, "%+v", l) // the fragments are gone, not read again
	}
	require.Equal(t, 1, st.detections, "the picture did not change: no second detection")
}
