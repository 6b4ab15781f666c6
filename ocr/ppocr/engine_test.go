package ppocr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	cjkFont  = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	sansFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
)

// newEngine opens the engine on the installed files; the tests need them
// (make ppocr-files, a dependency of make test, installs them).
func newEngine(t *testing.T, o Options) *Engine {
	t.Helper()
	if o.Dir == "" {
		o.Dir = testDir()
	}
	e, err := New(o)
	require.NoError(t, err, "PP-OCR files: run make ppocr-files (or set PPOCR_DIR)")
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

// testDir is where the tests find the engine's files: $PPOCR_DIR, as the
// Makefile names it, else the default.
func testDir() string {
	if d := os.Getenv("PPOCR_DIR"); d != "" {
		return d
	}
	return DefaultDir()
}

// frame renders a 1280x720 frame: a busy background (ffmpeg's testsrc2,
// darkened) and the text of filter, a drawtext or overlay chain over [bg].
func frame(t testing.TB, filter string) string {
	t.Helper()
	return frameAt(t, 0, filter)
}

// frameAt is frame with the background as it is sec seconds in.
func frameAt(t testing.TB, sec int, filter string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "f.png")
	testutil.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=1280x720,eq=brightness=-0.25:saturation=0.5",
		"-filter_complex", "[0]trim=start="+strconv.Itoa(sec)+",setpts=PTS-STARTPTS[b0];[b0]null[bg];"+filter, "-frames:v", "1", out)
	return out
}

func textFile(t testing.TB, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.txt")
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	return p
}

// benchFrame is a frame with one caption, for the benchmarks.
func benchFrame(b testing.TB) string {
	return frame(b, "[bg]drawtext=fontfile="+cjkFont+":textfile="+textFile(b, "GUCCI 古驰 高仿包 1:1 replica")+
		":fontsize=44:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h-140")
}

// squeeze drops whitespace: the engine reads a gap between Han and Latin
// text, or none, as the font spaces it.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func TestReadsWhatTheClassicalDetectorCannot(t *testing.T) {
	e := newEngine(t, Options{Size: 1})
	tests := []struct {
		name   string
		filter string
		want   string
	}{
		{"mixed chinese and english caption", "[bg]drawtext=fontfile=" + cjkFont + ":textfile=" + textFile(t, "GUCCI 古驰 高仿包") +
			":fontsize=44:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h-140", "GUCCI古驰高仿包"},
		{"line rotated 15 degrees", "color=c=black@0:size=900x200,format=rgba,drawtext=fontfile=" + sansFont + ":textfile=" + textFile(t, "ROLEX super copy") +
			":fontsize=56:fontcolor=yellow:borderw=2:x=(w-tw)/2:y=(h-th)/2,rotate=-15*PI/180:c=none:ow=rotw(15*PI/180):oh=roth(15*PI/180)[t];[bg][t]overlay=150:200", "ROLEXsupercopy"},
		{"vertical chinese column", "[bg]drawtext=fontfile=" + cjkFont + ":textfile=" + textFile(t, "古\n驰\n高\n仿") +
			":fontsize=48:fontcolor=white:line_spacing=4:box=1:boxcolor=0x802020@0.8:boxborderw=10:x=1100:y=120", "古驰高仿"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := testutil.LoadGray(t, frame(t, tc.filter))
			crops, err := e.Propose(context.Background(), img, nil)
			require.NoError(t, err)
			read, err := e.ReadLines(context.Background(), img, crops)
			require.NoError(t, err)
			for _, r := range read {
				t.Logf("%v %q %.1f", r.Box, r.Text, r.Confidence)
			}
			var got []string
			for _, r := range read {
				got = append(got, r.Text)
				if squeeze(r.Text) == tc.want {
					require.Greater(t, r.Confidence, 80.0, r.Text)
					return
				}
			}
			t.Fatalf("want a line %q, read %q", tc.want, got)
		})
	}
}

func TestFilesMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Options{Dir: dir})
	require.ErrorIs(t, err, ErrFilesMissing)
	require.Contains(t, err.Error(), filepath.Join(dir, RuntimeFile))
	require.NotContains(t, err.Error(), "\n")
	require.True(t, errors.Is(CheckFiles(dir), ErrFilesMissing))
}

func TestReadLinesAfterClose(t *testing.T) {
	e, err := New(Options{Dir: testDir(), Size: 1})
	require.NoError(t, err)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	img := testutil.LoadGray(t, frame(t, "[bg]null"))
	_, err = e.ReadLines(context.Background(), img, []lines.Crop{{Box: img.Rect, Text: img.Rect}})
	require.ErrorIs(t, err, ErrClosed)
}
