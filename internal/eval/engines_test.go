package eval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// usageWithEngines is Go flag usage as streamwatch replay --help prints it.
const usageWithEngines = `Usage of replay:
  -min-hits int
    	sampled frames with a hit before a segment opens (default 2)
  -ocr-engine value
    	engine that reads text lines: tesseract, ppocr (PP-OCRv4 on ONNX Runtime) or auto (each where it wins; Tesseract alone without PP-OCR's files); default auto
  -out string
    	also write records as JSON lines to this file (appended)
`

const usageWithout = `Usage of replay:
  -min-hits int
    	sampled frames with a hit before a segment opens (default 2)
  -out string
    	also write records as JSON lines to this file, auto-rotated (appended)
`

func TestParseEngines(t *testing.T) {
	got, ok := parseEngines(usageWithEngines)
	require.True(t, ok)
	require.Equal(t, []string{"tesseract", "ppocr", "auto"}, got)

	got, ok = parseEngines(usageWithout)
	require.False(t, ok, "no --ocr-engine, though another flag says auto")
	require.Empty(t, got)
}

// fakeBin writes an executable script that prints usage for replay --help and
// exits 2, as Go's flag package does.
func fakeBin(t *testing.T, usage string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "streamwatch")
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(p), "usage.txt"), []byte(usage), 0o644))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\ncat \"$(dirname \"$0\")/usage.txt\" >&2\nexit 2\n"), 0o755))
	return p
}

func TestResolveEngines(t *testing.T) {
	with, without := fakeBin(t, usageWithEngines), fakeBin(t, usageWithout)
	tests := []struct {
		name string
		bin  string
		want []string
		got  []string
		err  string
	}{
		{"default: all the binary offers", with, nil, []string{"tesseract", "ppocr", "auto"}, ""},
		{"asked for", with, []string{"auto", "tesseract"}, []string{"auto", "tesseract"}, ""},
		{"unknown engine", with, []string{"easyocr"}, nil, `"easyocr" (`},
		{"no flag: one default column", without, nil, []string{""}, ""},
		{"no flag, engines asked for", without, []string{"ppocr"}, nil, "has no --ocr-engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveEngines(t.Context(), tt.bin, tt.want)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrEngine)
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.got, got)
		})
	}
}
