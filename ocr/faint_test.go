package ocr

import (
	"context"
	"image"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadFaintStretch reads a caption whose middle crosses a bar nearly as
// light as the text, beside a dark one: the local threshold must neither
// take the light bar for flat background (its contrast with the text is
// small) nor set the bar's strip next to the dark one against the mean of
// both (which joins it, and the glyph on it, to the background).
func TestReadFaintStretch(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	const bg = "color=c=0x303030:size=1280x720,drawbox=x=420:y=0:w=220:h=720:color=0xE2E2E2:t=fill"
	img := renderFrame(t, bg, frameText{text: "Nike Dunk knockoff shoes", font: regular, size: 52, x: "300", y: "500", style: "fontcolor=white"})
	box := caption(t, img)
	l, err := w.readRegion(img, box)
	require.NoError(t, err)
	require.Equal(t, "Nike Dunk knockoff shoes", l.Text)
}

func TestHanCount(t *testing.T) {
	require.Equal(t, 0, hanCount("Gucci"))
	require.Equal(t, 3, hanCount("香奈儿 A"))
}

// TestReadLowContrastBox reads grey text on a dark grey box over a darker
// frame: over the crop around the line, Otsu splits the frame from box and
// text together; the box's own threshold must be tried.
func TestReadLowContrastBox(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	img := renderFrame(t, "color=c=0x1e2430:size=720x1280",
		frameText{text: "Prada bag AAA quality", font: regular, size: 44, x: "(w-tw)/2", y: "940",
			style: "fontcolor=0x909090:box=1:boxcolor=0x505050:boxborderw=10"})
	l, err := w.readRegion(img, caption(t, img))
	require.NoError(t, err)
	require.Equal(t, "Prada bag AAA quality", l.Text)
}

// TestReadWidelySpacedLetters reads a name spelled with wide gaps in a CJK
// face's Latin glyphs ("ＧＵＣＣＩ"): Tesseract reads it right but doubts it
// (confidence 0–20); the confident symbols it makes of other renderings
// must not win, nor the Chinese model's look-alikes without Han.
func TestReadWidelySpacedLetters(t *testing.T) {
	w, err := newWorker([]string{"eng", "chi_sim"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	const cjk = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	img := renderFrame(t, "color=c=0x1e2430:size=720x1280",
		frameText{text: "ＧＵＣＣＩ 1:1 replica", font: cjk, size: 48, x: "(w-tw)/2", y: "940", style: demoStyle})
	l, err := w.readRegion(img, caption(t, img))
	require.NoError(t, err)
	require.Equal(t, "GUCCI 1:1 replica", l.Text)
}

// TestReadTraditionalChinese reads Traditional characters the Simplified
// model lacks ("馳" of 古馳, Gucci): it doubts them, and the Traditional
// model reads the line again.
func TestReadTraditionalChinese(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	n := countLines(w)
	const cjk = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	img := renderFrame(t, "color=c=0x1e2430:size=720x1280",
		frameText{text: "古馳 高仿 包包", font: cjk, size: 48, x: "(w-tw)/2", y: "940", style: demoStyle})
	l, err := w.readRegion(img, caption(t, img))
	require.NoError(t, err)
	require.Equal(t, "古馳高仿包包", strings.ReplaceAll(l.Text, " ", ""))
	require.Equal(t, 1, n.traditional.lines)

	// Simplified text the Simplified model is sure of is read once.
	img = renderFrame(t, "color=c=0x1e2430:size=720x1280",
		frameText{text: "香奈儿 精仿 包邮", font: cjk, size: 48, x: "(w-tw)/2", y: "940", style: demoStyle})
	l, err = w.readRegion(img, caption(t, img))
	require.NoError(t, err)
	require.Equal(t, "香奈儿精仿包邮", strings.ReplaceAll(l.Text, " ", ""))
	require.Equal(t, 1, n.traditional.lines, "no Traditional read for a sure Simplified line")
}

// TestPoolSharesTheTraditionalModel: the workers of a pool read with one
// Traditional Chinese client between them (initialised once, behind a
// lock), and lines that need it read alike from every worker at once; the
// pool frees it once, after its workers.
func TestPoolSharesTheTraditionalModel(t *testing.T) {
	p, err := NewPool(Options{Size: 3})
	require.NoError(t, err)
	require.NotNil(t, p.shared, "a pool of three shares its Traditional client")
	const cjk = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	img := renderFrame(t, "color=c=0x1e2430:size=720x1280",
		frameText{text: "古馳 高仿 包包", font: cjk, size: 48, x: "(w-tw)/2", y: "940", style: demoStyle})
	box := caption(t, img)
	var wg sync.WaitGroup
	texts := make([]string, 9)
	errs := make([]error, len(texts))
	for i := range texts {
		wg.Go(func() {
			ls, err := p.Read(context.Background(), img, []image.Rectangle{box})
			errs[i] = err
			for _, l := range ls {
				texts[i] += strings.ReplaceAll(l.Text, " ", "")
			}
		})
	}
	wg.Wait()
	for i := range texts {
		require.NoError(t, errs[i])
		require.Equal(t, "古馳高仿包包", texts[i], "read %d", i)
	}
	require.NoError(t, p.Close())
	require.Nil(t, p.shared)
	require.NoError(t, p.Close(), "a second Close frees nothing twice")

	one, err := NewPool(Options{Size: 1})
	require.NoError(t, err)
	require.Nil(t, one.shared, "a pool of one has nothing to share")
	require.NoError(t, one.Close())
}

// TestDoubtsHanOnlyBesideSureHan: the Simplified model's readings that go
// to the Traditional model, as measured here: Traditional lines, where it
// reads the characters it knows surely and the others not ("古馳 高仿"), go;
// a busy background's pictures, read doubtfully throughout, do not, nor
// does a sure Simplified line.
func TestDoubtsHanOnlyBesideSureHan(t *testing.T) {
	words := func(ws ...any) reading {
		var r reading
		for i := 0; i < len(ws); i += 2 {
			r.words = append(r.words, word{text: ws[i].(string), conf: ws[i+1].(float64)})
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    reading
		want bool
	}{
		{"古馳 高仿", words("古", 90.0, "鸯", 0.0, "局", 92.0, "仿", 68.0), true},
		{"勞力士 復刻錶", words("终", 0.0, "力", 0.0, "士", 91.0, "复", 92.0, "刻", 91.0), true},
		{"寶格麗 項鍊", words("实", 31.0, "格", 77.0, "踢", 18.0, "项", 93.0), true},
		{"texture", words("5玉站1", 10.0), false},
		{"texture of several words", words("了二", 16.0, ">芝", 12.0, "国到", 24.0), false},
		{"sure Simplified", words("香奈儿", 92.0, "精仿", 90.0), false},
		{"Latin look-alikes", words("Pr", 8.0, "ar", 91.0), false},
	} {
		require.Equal(t, tc.want, doubtsHan(tc.r), tc.name)
	}
}
