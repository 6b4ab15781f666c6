package ocr

import (
	"image"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/lines"
)

// serifBold is a serif face with heavy strokes and tall ascenders.
const serifBold = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"

// caption returns the detected line box of img in its lower half.
func caption(t *testing.T, img *image.Gray) image.Rectangle {
	t.Helper()
	var c image.Rectangle
	for _, r := range lines.Detect(img, lines.DetectOptions{}) {
		if r.Min.Y > img.Rect.Dy()/3 {
			c = c.Union(r)
		}
	}
	require.False(t, c.Empty(), "caption not detected")
	return c
}

// TestReadRegionBeyondTightBox reads lines whose box cuts off glyphs: the
// first letter, or the tops of capitals and ascenders. The glyphs around
// the box complete them.
func TestReadRegionBeyondTightBox(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	img := renderFrame(t, "color=c=0x242424:size=720x400", frameText{text: "Cartier bracelet replica", font: serifBold, size: 44, x: "(w-tw)/2", y: "h*3/4-th/2", style: "fontcolor=white"})
	ink := inkBox(img, 128)
	h := ink.Dy()
	tests := []struct {
		name string
		box  image.Rectangle
	}{
		{"first letter cut", image.Rect(ink.Min.X+h/3, ink.Min.Y-h/6, ink.Max.X+h/6, ink.Max.Y+h/6)},
		{"tops and bottoms cut", image.Rect(ink.Min.X-h/6, ink.Min.Y+h/5, ink.Max.X+h/6, ink.Max.Y-h/5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := w.readRegion(img, tc.box)
			require.NoError(t, err)
			require.Equal(t, "Cartier bracelet replica", l.Text)
		})
	}
}

// TestSecondBinarisation draws light text across background bars: one threshold for the whole line loses
// the glyphs on that bar, a threshold that follows the background keeps
// them, and the reader keeps the fuller reading.
func TestSecondBinarisation(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	// The demo background without a caption box: colour bars of every
	// shade, some as light as the text.
	img := renderFrame(t, demoBG, frameText{text: "Balenciaga sneakers 1:1", font: regular, size: 32, x: "(w-tw)/2", y: "h*3/4-th/2", style: "fontcolor=white"})
	box := caption(t, img)
	sub := img.SubImage(around(box, img.Rect)).(*image.Gray)
	preps := prepareLines(sub, box)
	require.Len(t, preps, 2, "the two binarisations should disagree")
	first, err := w.readLine(w.all, preps[0])
	require.NoError(t, err)
	require.NotContains(t, first.Text, "Balenciaga", "one threshold should lose glyphs on the light bar")
	l, err := w.readRegion(img, box)
	require.NoError(t, err)
	require.Equal(t, "Balenciaga sneakers 1:1", l.Text)
}

// inkBox returns the bounds of img's pixels lighter than t.
func inkBox(img *image.Gray, t uint8) image.Rectangle {
	ink := image.Rectangle{}
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.GrayAt(x, y).Y > t {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return ink
}

// TestSecondBinarisationOnlyWhenNeeded checks that a clean caption gets one
// binarisation, hence one read.
func TestSecondBinarisationOnlyWhenNeeded(t *testing.T) {
	img := renderFrame(t, demoBG, demoCaption("GUCCI bag 1:1 replica", regular))
	box := caption(t, img)
	sub := img.SubImage(around(box, img.Rect)).(*image.Gray)
	require.Len(t, prepareLines(sub, box), 1)
}

func TestJoinWords(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  string
	}{
		{"latin", []string{"GUCCI", "bag", "1:1"}, "GUCCI bag 1:1"},
		{"han characters", []string{"古", "驰", "高仿"}, "古驰高仿"},
		{"digits around han", []string{"Dior", "1", "比", "1", "口红"}, "Dior 1比1口红"},
		{"latin before han", []string{"A", "货"}, "A货"},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, joinWords(tc.words))
		})
	}
}

func TestReadingWorth(t *testing.T) {
	full := reading{words: []word{{"Balenciaga", 95}, {"sneakers", 96}, {"1:1", 90}}}
	lost := reading{words: []word{{"Bale", 96}, {"neakers", 96}, {"1:1", 95}}}
	texture := reading{words: []word{{"Bxq", 20}, {"wmmw", 30}, {"rn", 40}}}
	require.Greater(t, full.worth(), lost.worth())
	require.Greater(t, lost.worth(), texture.worth())
	require.Zero(t, texture.worth())
}

// TestReadOtherHypotheses reads lines whose first rendering is doubtful:
// outlined text over a light background, where the outlines stand free and
// win the first rendering, is read by its fill; a first letter the
// detector's box left out is taken back from beside the box.
func TestReadOtherHypotheses(t *testing.T) {
	w, err := newWorker([]string{"eng"})
	require.NoError(t, err)
	defer closeWorker(t, w)
	t.Run("outlined text read by its fill", func(t *testing.T) {
		img := renderFrame(t, "gradients=size=720x400:c0=0xb0b0b0:c1=0xe0e0e0:speed=0.0001:seed=1", frameText{text: "Moncler jacket super copy", font: regular, size: 44, x: "(w-tw)/2", y: "h*3/4-th/2", style: "fontcolor=white:borderw=4:bordercolor=black"})
		l, err := w.readRegion(img, caption(t, img))
		require.NoError(t, err)
		// The first rendering reads "Mondier jacket supar copy". (Where the
		// outline closes the mouth of a c, the background it encloses still
		// joins the fill: "eopy".)
		require.Contains(t, l.Text, "Moncler jacket super")
	})
	t.Run("first letter beside the box", func(t *testing.T) {
		img := renderFrame(t, "color=c=0x242424:size=720x400", frameText{text: "LV 1:1 BAG", font: sans, size: 72, x: "(w-tw)/2", y: "h*3/4-th/2", style: "fontcolor=white"})
		ink := inkBox(img, 128)
		h := ink.Dy()
		// The box starts past the L's stem and foot.
		box := image.Rect(ink.Min.X+h*3/4, ink.Min.Y-h/6, ink.Max.X+h/6, ink.Max.Y+h/6)
		l, err := w.readRegion(img, box)
		require.NoError(t, err)
		require.Equal(t, "LV 1:1 BAG", l.Text)
	})
}

// TestDoubtfulIgnoresStrayEnds: a single character at either end of a line
// (a box's edge read as "a") does not make a clean reading doubtful; a
// doubted word does, and so does a doubted one-character word inside.
func TestDoubtfulIgnoresStrayEnds(t *testing.T) {
	line := func(ws ...word) reading {
		r := reading{words: ws}
		var text []string
		for _, w := range ws {
			text = append(text, w.text)
		}
		r.Text, r.Confidence = strings.Join(text, " "), 88
		return r
	}
	require.False(t, line(word{"a", 40}, word{"GUCCI", 93}, word{"bag", 95}, word{"1:1", 90}, word{"replica", 96}).doubtful())
	require.False(t, line(word{"GUCCI", 93}, word{"replica", 96}, word{"|", 30}).doubtful())
	require.True(t, line(word{"a", 40}, word{"GUCCl", 60}, word{"replica", 96}).doubtful(), "a doubted word")
	require.True(t, line(word{"GUCCI", 93}, word{"x", 30}, word{"replica", 96}).doubtful(), "inside the line")
	require.True(t, line(word{"a", 40}, word{"GUCCI", 93}).doubtful(), "two words: no stray end")
}
