package ppocr

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The files the engine reads, all in one folder (make ppocr-files puts them
// there).
const (
	RuntimeFile    = "libonnxruntime.so"
	DetectorFile   = "ch_PP-OCRv4_det_infer.onnx"
	RecognizerFile = "ch_PP-OCRv4_rec_infer.onnx"
	KeysFile       = "ppocr_keys_v1.txt"
)

// ErrFilesMissing is returned by CheckFiles and New when a file the engine
// reads is not in its folder.
var ErrFilesMissing = errors.New("ppocr: engine files missing (install them with make ppocr-files)")

// DefaultDir is the folder make ppocr-files installs into:
// $XDG_CACHE_HOME/streamwatch/ppocr, or ~/.cache/streamwatch/ppocr.
func DefaultDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "streamwatch", "ppocr")
}

// CheckFiles reports whether every file the engine reads is in dir.
func CheckFiles(dir string) error {
	for _, f := range []string{RuntimeFile, DetectorFile, RecognizerFile, KeysFile} {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%w: no %s", ErrFilesMissing, p)
		}
	}
	return nil
}

// loadKeys reads the recogniser's dictionary: one character a line, the
// classes 1..n of its output; class 0 is CTC's blank and n+1 a space.
func loadKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ppocr: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened for reading only
	keys := []string{""}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		keys = append(keys, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ppocr: read %s: %w", path, err)
	}
	return append(keys, " "), nil
}
