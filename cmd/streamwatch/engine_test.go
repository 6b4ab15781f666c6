package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/ocr/ppocr"
)

// ppocrDir is where the engine's files are: $PPOCR_DIR, as the Makefile
// names it, else the default (make ppocr-files, part of make test, puts
// them there).
func ppocrDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PPOCR_DIR")
	if dir == "" {
		dir = ppocr.DefaultDir()
	}
	require.NoError(t, ppocr.CheckFiles(dir), "run make ppocr-files")
	return dir
}

func TestOCREngineFlag(t *testing.T) {
	clip := offerClip(t)
	have, missing := ppocrDir(t), t.TempDir()
	tests := []struct {
		name   string
		engine string
		dir    string
		code   int
		want   string // in stderr
	}{
		{"ppocr without its files fails in one line", "ppocr", missing, 2, "make ppocr-files"},
		{"auto without the files reads with tesseract and says so", "auto", missing, 0, "reads with Tesseract alone"},
		{"the default, auto, without the files reads with tesseract and says so", "", missing, 0, "reads with Tesseract alone"},
		{"ppocr", "ppocr", have, 0, ""},
		{"auto", "auto", have, 0, ""},
		{"tesseract", "tesseract", missing, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "alerts.jsonl")
			args := []string{"replay", clip, "--out", out, "--ppocr-dir", tc.dir}
			if tc.engine != "" {
				args = append(args, "--ocr-engine", tc.engine)
			}
			r := runBin(t, 3*time.Minute, "", args...)
			require.Equal(t, tc.code, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			if tc.code != 0 {
				lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
				require.Len(t, lines, 1, r.stderr)
				return
			}
			fallback := 0
			if tc.want != "" {
				fallback = 1 // one line at start-up, none per stream or frame
			}
			require.Equal(t, fallback, strings.Count(r.stderr, "PP-OCR files missing"), r.stderr)
			// With ppocr no Tesseract client exists: its alert is PP-OCR's reading.
			requireOfferClipAlert(t, readRecords(t, out))
		})
	}
}
