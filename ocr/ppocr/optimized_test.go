package ppocr

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// TestOptimizedModelCache: the first engine to load the models keeps them
// as ONNX Runtime optimised them; the next loads those and reads the same;
// a cached file that is not a model is made again; a cache that cannot be
// written leaves the engine reading, and says so once per model.
func TestOptimizedModelCache(t *testing.T) {
	img := testutil.LoadGray(t, benchFrame(t))
	read := func(t *testing.T, o Options) []string {
		t.Helper()
		e := newEngine(t, o)
		crops, err := e.Propose(context.Background(), img, nil)
		require.NoError(t, err)
		got, err := e.ReadLines(context.Background(), img, crops)
		require.NoError(t, err)
		var texts []string
		for _, g := range got {
			texts = append(texts, squeeze(g.Text))
		}
		return texts
	}
	cached := func(t *testing.T, dir string) []string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, "*"+optimizedSuffix))
		require.NoError(t, err)
		return files
	}
	want := read(t, Options{Size: 1, CacheDir: "-"})
	require.Contains(t, want, "GUCCI古驰高仿包1:1replica")

	dir := filepath.Join(t.TempDir(), "optimized")
	require.Equal(t, want, read(t, Options{Size: 1, CacheDir: dir}))
	files := cached(t, dir)
	require.Len(t, files, 2, "the detector and the recogniser")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2, "no temporary file left")
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1<<20), f)
	}

	require.Equal(t, want, read(t, Options{Size: 1, CacheDir: dir}), "from the cache")
	require.Equal(t, files, cached(t, dir))

	require.NoError(t, os.WriteFile(files[0], []byte("not a model"), 0o644))
	require.Equal(t, want, read(t, Options{Size: 1, CacheDir: dir}), "a broken cached file")
	st, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(1<<20), "made again")

	blocked := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(blocked, nil, 0o644))
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	require.Equal(t, want, read(t, Options{Size: 1, CacheDir: filepath.Join(blocked, "optimized"), Log: log}))
	require.Equal(t, 2, strings.Count(logs.String(), "PP-OCR model optimised at each start-up"), logs.String())
	require.Contains(t, logs.String(), ErrCache.Error())
}

func TestCPUIDNamesTheProcessor(t *testing.T) {
	if _, err := os.Stat("/proc/cpuinfo"); err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	id := cpuID()
	require.Contains(t, id, "\n", "model name and flags: %q", id)
	require.Equal(t, id, cpuID())
}
