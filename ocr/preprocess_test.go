package ocr

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/runes"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
)

// frameText is one drawtext caption of a test frame.
type frameText struct {
	text, font string
	size       int
	x, y       string // drawtext position expressions
	style      string // more drawtext options
}

// renderFrame draws texts over the lavfi source bg with ffmpeg and returns
// the frame as gray.
func renderFrame(t testing.TB, bg string, texts ...frameText) *image.Gray {
	t.Helper()
	dir := t.TempDir()
	var vf []string
	for i, tx := range texts {
		txt := filepath.Join(dir, fmt.Sprintf("t%d.txt", i))
		require.NoError(t, os.WriteFile(txt, []byte(tx.text), 0o644))
		opts := fmt.Sprintf("drawtext=fontfile=%s:textfile=%s:expansion=none:fontsize=%d:x=%s:y=%s",
			tx.font, txt, tx.size, tx.x, tx.y)
		if tx.style != "" {
			opts += ":" + tx.style
		}
		vf = append(vf, opts)
	}
	vf = append(vf, "format=gray")
	out := filepath.Join(dir, "f.png")
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", bg, "-vf", strings.Join(vf, ","), "-frames:v", "1", out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return testutil.LoadGray(t, out)
}

const (
	regular = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	// demoBG is the demo clip's background (clipgen.DemoClip): colour bars,
	// a diagonal line and a grainy checkerboard, dimmed.
	demoBG = "testsrc2=size=720x1280,eq=brightness=-0.3:saturation=0.4"
	// A caption as the demo clip draws it: white on a semi-transparent box
	// in the lower third.
	demoStyle = "fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=13"
)

func demoCaption(text, font string) frameText {
	return frameText{text: text, font: font, size: 52, x: "(w-tw)/2", y: "h*3/4-th/2", style: demoStyle}
}

// synthetic draws a line of "glyphs" (filled bars) of colour fg on bg.
func synthetic(w, h int, bg, fg uint8, bars ...image.Rectangle) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(g, g.Rect, image.NewUniform(grayColor(bg)), image.Point{}, draw.Src)
	for _, r := range bars {
		draw.Draw(g, r, image.NewUniform(grayColor(fg)), image.Point{}, draw.Src)
	}
	return g
}

func grayColor(v uint8) color.Gray { return color.Gray{Y: v} }

func inkBounds(g *image.Gray) image.Rectangle {
	var r image.Rectangle
	for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
		for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
			if g.GrayAt(x, y).Y == 0 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func TestPrepareLine(t *testing.T) {
	glyphs := func(h int) []image.Rectangle {
		// Five stems a line high, with a sixth of the height free above and below.
		var rs []image.Rectangle
		for i := range 5 {
			x := h/2 + i*h/2
			rs = append(rs, image.Rect(x, h/6, x+max(1, h/8), h-h/6))
		}
		return rs
	}
	tests := []struct {
		name   string
		src    *image.Gray
		stems  int // glyph height in src
		scaled bool
	}{
		{"light on dark, kept at size", synthetic(400, 60, 30, 220, glyphs(60)...), 40, false},
		{"dark on light, kept at size", synthetic(400, 60, 220, 30, glyphs(60)...), 40, false},
		{"small text scaled up", synthetic(200, 18, 40, 200, glyphs(18)...), 12, true},
		{"huge text scaled down", synthetic(1400, 240, 200, 20, glyphs(240)...), 160, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := PrepareLine(tc.src)
			require.Equal(t, image.Point{}, out.Rect.Min)
			// Binary, white margin, dark ink.
			for _, v := range out.Pix {
				require.True(t, v == 0 || v == 255, "grey level %d", v)
			}
			ink := inkBounds(out)
			require.False(t, ink.Empty(), "no ink")
			require.True(t, ink.In(out.Rect.Inset(lineMargin)), "ink %v reaches the margin of %v", ink, out.Rect)
			if tc.scaled {
				scale := min(float64(targetLine)/float64(tc.src.Rect.Dy()*3/4), maxUpscale)
				require.InDelta(t, float64(tc.stems)*scale, ink.Dy(), 3, "glyph height after scaling")
			} else {
				require.Equal(t, tc.src.Rect.Dx()+2*lineMargin, out.Rect.Dx())
				require.InDelta(t, tc.stems, ink.Dy(), 1)
			}
		})
	}
}

func TestPrepareLineDropsBackground(t *testing.T) {
	// Light glyphs with dark outlines over a background that is dark on the
	// left and light on the right: no single polarity fits the crop, but
	// the fills are enclosed everywhere.
	img := image.NewGray(image.Rect(0, 0, 300, 60))
	for y := range 60 {
		for x := range 300 {
			v := uint8(20)
			if x >= 150 {
				v = 170
			}
			img.SetGray(x, y, grayColor(v))
		}
	}
	for i := range 6 {
		x := 20 + i*45
		draw.Draw(img, image.Rect(x-3, 7, x+15, 53), image.NewUniform(grayColor(0)), image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(x, 10, x+12, 50), image.NewUniform(grayColor(235)), image.Point{}, draw.Src)
	}
	out := PrepareLine(img)
	// Each fill comes out as a dark block, the rest white.
	for i := range 6 {
		x := 20 + i*45 + lineMargin
		require.Equal(t, uint8(0), out.GrayAt(x+6, 30+lineMargin).Y, "fill %d", i)
		require.Equal(t, uint8(255), out.GrayAt(x-10, 30+lineMargin).Y, "background before fill %d", i)
	}
	require.Equal(t, uint8(255), out.GrayAt(5+lineMargin, 5+lineMargin).Y)
	require.Equal(t, uint8(255), out.GrayAt(290+lineMargin, 55+lineMargin).Y)
}

func TestPrepareLineDegenerate(t *testing.T) {
	for _, r := range []image.Rectangle{{}, image.Rect(0, 0, 1, 1), image.Rect(5, 5, 6, 40)} {
		out := PrepareLine(image.NewGray(r))
		require.False(t, out.Rect.Empty())
	}
}

func TestResize(t *testing.T) {
	src := synthetic(10, 10, 0, 255, image.Rect(5, 0, 10, 10))
	up := resize(src, 40, 20)
	require.Equal(t, image.Rect(0, 0, 40, 20), up.Rect)
	require.Equal(t, uint8(0), up.GrayAt(0, 5).Y)
	require.Equal(t, uint8(255), up.GrayAt(39, 5).Y)
	down := resize(src.SubImage(image.Rect(1, 2, 9, 6)).(*image.Gray), 2, 2)
	require.Equal(t, uint8(0), down.GrayAt(0, 0).Y)
	require.Equal(t, uint8(255), down.GrayAt(1, 1).Y)
}

// TestResizeAveragesWhenShrinking: shrinking by ten, each output pixel is the
// mean of its block (stripes two pixels wide come out mid-grey), where
// bilinear interpolation alone would pick two columns of one stripe.
func TestResizeAveragesWhenShrinking(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			if x%4 >= 2 {
				src.Pix[y*src.Stride+x] = 255
			}
		}
	}
	down := resize(src, 20, 10)
	require.Equal(t, image.Rect(0, 0, 20, 10), down.Rect)
	for i, v := range down.Pix {
		require.InDelta(t, 127, int(v), 26, "pixel %d", i)
	}
	// Blocks cut short at the edges average what they hold.
	odd := shrink(src.SubImage(image.Rect(0, 0, 5, 3)).(*image.Gray), 2)
	require.Equal(t, image.Rect(0, 0, 3, 2), odd.Rect)
	require.Equal(t, []uint8{0, 255, 0, 0, 255, 0}, odd.Pix)
}

func TestOtsu(t *testing.T) {
	img := synthetic(100, 10, 40, 200, image.Rect(0, 0, 30, 10))
	th := otsu(img)
	require.GreaterOrEqual(t, th, uint8(40))
	require.Less(t, th, uint8(200))
}

// TestReadDetectedLines reads frames like the demo clip's through the
// detector and a pool: captions on a semi-transparent box over colour bars, a
// diagonal line and a grainy checkerboard, which whole-frame Tesseract misses.
func TestReadDetectedLines(t *testing.T) {
	p, err := NewPool(Options{Size: 1})
	require.NoError(t, err)
	defer p.Close()
	tests := []struct {
		name  string
		bg    string
		text  frameText
		exact string   // the line must read exactly so
		holds []string // or must hold these
	}{
		{"latin caption over test pattern", demoBG, demoCaption("GUCCI bag 1:1 replica", regular), "GUCCI bag 1:1 replica", nil},
		{"latin caption over colour bars", "smptebars=size=720x1280", demoCaption("LV AAA quality wallet", regular), "LV AAA quality wallet", nil},
		{"chinese caption", demoBG, demoCaption("古驰 高仿 包包 特价", cjk), "", []string{"古驰", "高仿"}},
		{"outlined caption without box", "smptebars=size=720x1280",
			frameText{text: "GUCCI belt AAA grade", font: sans, size: 50, x: "(w-tw)/2", y: "h*3/4", style: "fontcolor=white:borderw=3:bordercolor=black"},
			"GUCCI belt AAA grade", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := renderFrame(t, tc.bg, tc.text)
			regions := lines.Detect(img, lines.DetectOptions{})
			require.NotEmpty(t, regions)
			lines, err := p.Read(context.Background(), img, regions)
			require.NoError(t, err)
			var got []string
			for _, l := range lines {
				got = append(got, l.Text)
				require.True(t, l.Box.In(img.Rect))
				require.GreaterOrEqual(t, l.Confidence, 0.0)
				require.LessOrEqual(t, l.Confidence, 100.0)
			}
			if tc.exact != "" {
				require.Contains(t, got, tc.exact)
				return
			}
			all := strings.Join(got, "|")
			for _, want := range tc.holds {
				require.Contains(t, all, want, "lines: %q", got)
			}
		})
	}
}

// TestLanguagePerLine checks what each line costs: an English line one
// English read, a Chinese line an English and a Chinese one.
func TestLanguagePerLine(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	n := countLines(w)
	tests := []struct {
		name         string
		text         frameText
		want         string
		eng, chinese int
	}{
		{"english", demoCaption("Nike shoes new arrivals", regular), "Nike shoes new arrivals", 1, 0},
		{"chinese", demoCaption("古驰 高仿 包包 特价", cjk), "古驰高仿", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := renderFrame(t, demoBG, tc.text)
			regions := lines.Detect(img, lines.DetectOptions{})
			var caption image.Rectangle
			for _, r := range regions {
				if r.Min.Y > img.Rect.Dy()/2 {
					caption = r
				}
			}
			require.False(t, caption.Empty(), "caption not detected in %v", regions)
			n.reset()
			start := time.Now()
			l, err := w.readRegion(img, caption)
			require.NoError(t, err)
			t.Logf("%q conf %.0f in %v, %d English and %d Chinese reads",
				l.Text, l.Confidence, time.Since(start), n.eng.lines, n.chinese.lines)
			require.Contains(t, l.Text, tc.want)
			require.Equal(t, tc.eng, n.eng.lines, "English reads")
			require.Equal(t, tc.chinese, n.chinese.lines, "Chinese reads")
		})
	}
}

func TestReadEmptyRegionsReadsNothing(t *testing.T) {
	p, err := NewPool(Options{Size: 1, Languages: []string{"eng"}})
	require.NoError(t, err)
	defer p.Close()
	img := render(t, 720, 400, "LV AAA quality", sans, 40, 300)
	lines, err := p.Read(context.Background(), img, []image.Rectangle{})
	require.NoError(t, err)
	require.Empty(t, lines)
}

func TestMeaningfulAndGarbage(t *testing.T) {
	tests := []struct {
		in               string
		meaningful, junk bool
	}{
		{"GUCCI bag 1:1 replica", true, false},
		{"古驰高仿包包特价", true, false},
		{"LV AAA quality wallet", true, false},
		{"I have a bag", true, false},
		{"- |", false, true},
		{"", false, true},
		{"» EN", true, false},
		{"a i E R u", true, true},
		{"~%& {} |Ta", true, true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.meaningful, runes.HasLetterOrDigit(tc.in), "HasLetterOrDigit(%q)", tc.in)
		require.Equal(t, tc.junk, garbage(tc.in), "garbage(%q)", tc.in)
	}
}

func TestDedupe(t *testing.T) {
	big := image.Rect(0, 100, 600, 160)
	part := image.Rect(300, 105, 600, 155)
	other := image.Rect(0, 300, 600, 360)
	lines := dedupe([]Line{
		{Text: "GUCCI bag 1:1 replica", Box: big, Confidence: 90},
		{Text: "1:1 replica", Box: part, Confidence: 95},
		{Text: "GUCCI bag 1:1 replica", Box: other, Confidence: 80},
		{Text: "sale", Box: part.Add(image.Pt(0, 1)), Confidence: 70},
	})
	require.Equal(t, []Line{
		{Text: "GUCCI bag 1:1 replica", Box: big, Confidence: 90},
		{Text: "GUCCI bag 1:1 replica", Box: other, Confidence: 80},
		{Text: "sale", Box: part.Add(image.Pt(0, 1)), Confidence: 70},
	}, lines)
	same := dedupe([]Line{
		{Text: "LV AAA", Box: big, Confidence: 80},
		{Text: "LV  AAA", Box: big.Inset(2), Confidence: 85},
	})
	require.Len(t, same, 1)
	require.Equal(t, 85.0, same[0].Confidence)
}

func BenchmarkPrepareLine(b *testing.B) {
	img := renderFrame(b, demoBG, demoCaption("GUCCI bag 1:1 replica", regular))
	regions := lines.Detect(img, lines.DetectOptions{})
	require.NotEmpty(b, regions)
	line := img.SubImage(regions[len(regions)-1]).(*image.Gray)
	b.ReportAllocs()
	for b.Loop() {
		PrepareLine(line)
	}
}

// BenchmarkDetectAndRead measures what one sampled frame like the demo
// clip's costs: text-line detection and reading the lines with one client.
func BenchmarkDetectAndRead(b *testing.B) {
	p, err := NewPool(Options{Size: 1})
	require.NoError(b, err)
	defer p.Close()
	for _, bc := range []struct {
		name    string
		caption frameText
	}{
		{"latin", demoCaption("GUCCI bag 1:1 replica", regular)},
		{"chinese", demoCaption("古驰 高仿 包包 特价", cjk)},
	} {
		img := renderFrame(b, demoBG, bc.caption)
		b.Run(bc.name, func(b *testing.B) {
			var read []Line
			for b.Loop() {
				read, err = p.Read(context.Background(), img, lines.Detect(img, lines.DetectOptions{}))
				require.NoError(b, err)
			}
			for _, l := range read {
				b.Logf("%q conf %.0f box %v", l.Text, l.Confidence, l.Box)
			}
		})
	}
}
