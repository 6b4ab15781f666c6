package clipgen

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"unicode"
)

// fontCandidates maps a font key to the files that may provide it, best first.
// DejaVu and Liberation come from fonts-dejavu-core and fonts-liberation2,
// the CJK faces from fonts-noto-cjk. drawtext opens face 0 of a .ttc, which in
// NotoSansCJK-Regular.ttc is the Japanese face; it holds the simplified Han
// code points too, so Chinese captions render with their own glyphs.
var fontCandidates = map[string][]string{
	"sans": {
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
	},
	"sans-bold": {
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
	},
	"serif": {
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
	},
	"serif-bold": {
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
	},
	"serif-italic": {
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
	},
	"mono": {
		"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
	},
	"cjk": {
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
		"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
	},
	"cjk-bold": {
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	},
}

// cjkKeys are the font keys whose files carry Han, kana and Hangul glyphs.
var cjkKeys = []string{"cjk", "cjk-bold"}

// FontKeys returns the font keys FontFile knows, sorted.
func FontKeys() []string {
	keys := make([]string, 0, len(fontCandidates))
	for k := range fontCandidates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FontFile returns the font file for key: one of FontKeys ("sans", "sans-bold",
// "serif", "serif-bold", "serif-italic", "mono", "cjk", "cjk-bold"), or an
// absolute path to an existing font file, returned as is.
func FontFile(key string) (string, error) {
	if filepath.IsAbs(key) {
		if _, err := os.Stat(key); err != nil {
			return "", fmt.Errorf("clipgen: font %s: %w", key, err)
		}
		return key, nil
	}
	cands, ok := fontCandidates[key]
	if !ok {
		return "", fmt.Errorf("%w: %q (known: %v)", ErrUnknownFont, key, FontKeys())
	}
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q: none of %v exists", ErrFontMissing, key, cands)
}

// hasCJK reports whether s holds a character that Latin fonts lack: Han, kana or Hangul.
func hasCJK(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return true
		}
	}
	return false
}
