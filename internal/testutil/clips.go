package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// The clips of one test binary: one directory, each clip made once.
var clips struct {
	mu   sync.Mutex
	dir  string
	made map[string]*madeClip
}

type madeClip struct {
	once sync.Once
	path string
	err  error
}

// clipOnce returns the path of name in the clip directory, running mk on
// it the first time name is asked for. Tests asking for other clips meanwhile
// do not wait for it.
func clipOnce(name string, mk func(path string) error) (string, error) {
	clips.mu.Lock()
	if clips.dir == "" {
		dir, err := os.MkdirTemp("", "streamwatch-clips-")
		if err != nil {
			clips.mu.Unlock()
			return "", fmt.Errorf("clip directory: %w", err)
		}
		clips.dir, clips.made = dir, map[string]*madeClip{}
	}
	c, ok := clips.made[name]
	if !ok {
		c = &madeClip{path: filepath.Join(clips.dir, name)}
		clips.made[name] = c
	}
	clips.mu.Unlock()
	c.once.Do(func() { c.err = mk(c.path) })
	return c.path, c.err
}

// removeClips removes the clip directory; Main calls it after the tests.
func removeClips() {
	clips.mu.Lock()
	defer clips.mu.Unlock()
	if clips.dir != "" {
		if err := os.RemoveAll(clips.dir); err != nil {
			fmt.Fprintln(os.Stderr, "clips not removed:", err)
		}
		clips.dir, clips.made = "", nil
	}
}

// Clip makes name with `ffmpeg args... name` in a directory shared by the
// test binary, once, and returns its path. Without the ffmpeg CLI it skips t.
func Clip(t testing.TB, name string, args ...string) string {
	t.Helper()
	needFFmpeg(t)
	p, err := clipOnce(name, func(path string) error { return runFFmpeg(append(args, path)...) })
	require.NoError(t, err)
	return p
}

// Generate makes c with clipgen as c.Name+".mp4" in the directory Clip uses,
// once per name, and returns its path. Without the ffmpeg CLI it skips t.
func Generate(t testing.TB, c clipgen.Clip) string {
	t.Helper()
	needFFmpeg(t)
	p, err := clipOnce(c.Name+".mp4", func(path string) error {
		_, err := clipgen.Generate(context.Background(), c, path)
		return err
	})
	require.NoError(t, err)
	return p
}

// FFmpeg runs the ffmpeg CLI quietly (errors only, no stdin, overwriting its
// output). Without it it skips t.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	needFFmpeg(t)
	require.NoError(t, runFFmpeg(args...))
}

func needFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed (make deps installs it)")
	}
}

func runFFmpeg(args ...string) error {
	args = append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %q: %w: %s", args, err, out)
	}
	return nil
}
