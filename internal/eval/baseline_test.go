package eval

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunBaseline runs the baseline with the real ffmpeg and tesseract on a tiny
// two-second clip: one frame per second, read, timed, and its frames removed.
func TestRunBaseline(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "tesseract"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps installs it)", tool)
		}
	}
	dir := t.TempDir()
	c := clipgen.Clip{Name: "tiny", Width: 320, Height: 96, DurationMS: 2000, FPS: 5, Category: "plain",
		Captions: []clipgen.Caption{{Text: "GUCCI 1:1", StartMS: 1000, EndMS: 2000, Size: 40, Y: "(h-th)/2",
			Brand: "gucci", Phrase: "replica", Counterfeit: true}}}
	clip, _, err := prepareClip(t.Context(), c, dir)
	require.NoError(t, err)

	framesDir := filepath.Join(dir, "frames")
	r, err := runBaseline(t.Context(), clip, framesDir, "eng", 2)
	require.NoError(t, err)
	require.Len(t, r.Frames, 2)
	require.Equal(t, int64(0), r.Frames[0].AtMS)
	require.Equal(t, int64(1000), r.Frames[1].AtMS)
	require.Empty(t, strings.TrimSpace(r.Frames[0].Text))
	require.Contains(t, r.Frames[1].Text, "GUCCI")
	require.Positive(t, r.CPUSeconds)
	_, err = os.Stat(framesDir)
	require.ErrorIs(t, err, os.ErrNotExist, "frames are removed")

	path := filepath.Join(dir, "tiny.json")
	r.Key = "k1"
	require.NoError(t, saveBaseline(path, r))
	got, ok := loadBaseline(path, "k1")
	require.True(t, ok)
	require.Equal(t, r, got)
	_, ok = loadBaseline(path, "k2")
	require.False(t, ok, "another key is a miss")
}
