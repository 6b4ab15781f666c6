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
	// The faces below are used by the eval corpus only (make eval installs their
	// packages, EVAL_DEB_PKGS in the Makefile): display, script, handwriting and
	// brush-style CJK faces, unlike the sans, serif and mono faces above.
	"cjk-kai":      {"/usr/share/fonts/truetype/arphic/ukai.ttc"},                  // fonts-arphic-ukai, brush (Kaiti)
	"cjk-ming":     {"/usr/share/fonts/truetype/arphic/uming.ttc"},                 // fonts-arphic-uming
	"cjk-microhei": {"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"},             // fonts-wqy-microhei
	"script":       {"/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf"}, // fonts-urw-base35, Zapf Chancery-like
	"script-dancing": {
		"/usr/share/fonts/opentype/dancingscript/DancingScript-Bold.otf", // fonts-dancingscript
	},
	"display-lobster": {"/usr/share/fonts/opentype/lobster/lobster.otf"},           // fonts-lobster
	"display-bebas":   {"/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf"}, // fonts-bebas-neue
	"display-yanone":  {"/usr/share/fonts/opentype/yanone-kaffeesatz/YanoneKaffeesatz-Regular.otf"},
	"bookman":         {"/usr/share/fonts/opentype/urw-base35/URWBookman-Light.otf"},
	"gothic":          {"/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf"},
	"comic-neue":      {"/usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf"}, // fonts-comic-neue
	"hand":            {"/usr/share/fonts/truetype/fifthhorseman/dkg.ttf"},         // fonts-dkg-handwriting
	"hand-humor":      {"/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf"},     // fonts-humor-sans
}

// cjkKeys are the font keys whose files carry Han, kana and Hangul glyphs.
var cjkKeys = []string{"cjk", "cjk-bold", "cjk-kai", "cjk-ming", "cjk-microhei"}

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
// "serif", "serif-bold", "serif-italic", "mono", "cjk", "cjk-bold", and the
// eval corpus's "cjk-kai", "script", "hand"…), or an absolute path to an
// existing font file, returned as is.
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
