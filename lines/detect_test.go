package lines

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/stretchr/testify/require"
)

const (
	detSans      = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	detSansBold  = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	detSerif     = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
	detCJK       = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	detDimTest   = "testsrc2=size=%dx%d,eq=brightness=-0.3:saturation=0.4"
	detCellNoise = "cellauto=size=%dx%d:rate=25:start_full=1,scale=iw*4:ih*4:flags=neighbor,noise=alls=20:allf=t"
)

// detCaption is one drawtext caption of a test frame.
type detCaption struct {
	text, font string
	size       int
	x, y       string // drawtext position expressions
	color      string // default white
	box        string // box colour, "" for none
	border     int
	shadow     int
}

func (c detCaption) drawtext(t testing.TB, dir string, i int, withBox bool) string {
	txt := filepath.Join(dir, fmt.Sprintf("caption%d.txt", i))
	require.NoError(t, os.WriteFile(txt, []byte(c.text), 0o644))
	color := c.color
	if color == "" {
		color = "white"
	}
	opts := []string{
		"fontfile=" + c.font, "textfile=" + txt, "expansion=none",
		fmt.Sprintf("fontsize=%d", c.size), "fontcolor=" + color, "x=" + c.x, "y=" + c.y,
	}
	if c.box != "" && withBox {
		opts = append(opts, "box=1", "boxcolor="+c.box, fmt.Sprintf("boxborderw=%d", c.size/4))
	}
	if c.border > 0 {
		opts = append(opts, fmt.Sprintf("borderw=%d", c.border), "bordercolor=black")
	}
	if c.shadow > 0 {
		opts = append(opts, fmt.Sprintf("shadowx=%d:shadowy=%d", c.shadow, c.shadow), "shadowcolor=black@0.8")
	}
	return "drawtext=" + strings.Join(opts, ":")
}

// detRender draws the captions over the lavfi source bg with ffmpeg and
// returns the frame as gray, and for each caption the bounding box of the
// pixels it changes when drawn alone, without its box, on a plain mid-grey
// picture: the line a detector should find.
func detRender(t testing.TB, w, h int, bg string, caps []detCaption) (*image.Gray, []image.Rectangle) {
	t.Helper()
	dir := t.TempDir()
	var graph []string
	chain := "[0:v]"
	for i, c := range caps {
		if i > 0 {
			chain += ","
		}
		chain += c.drawtext(t, dir, i, true)
	}
	if len(caps) > 0 {
		chain += ","
	}
	graph = append(graph, chain+"format=gray[frame]")
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", bg}
	outs := []string{"-map", "[frame]", "-frames:v", "1", filepath.Join(dir, "frame.png")}
	for i, c := range caps {
		graph = append(graph, fmt.Sprintf("color=c=0x808080:size=%dx%d,%s,format=gray[t%d]", w, h, c.drawtext(t, dir, i, false), i))
		outs = append(outs, "-map", fmt.Sprintf("[t%d]", i), "-frames:v", "1", filepath.Join(dir, fmt.Sprintf("truth%d.png", i)))
	}
	args = append(args, "-filter_complex", strings.Join(graph, ";"))
	args = append(args, outs...)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, string(out))

	gray := testutil.LoadGray(t, filepath.Join(dir, "frame.png"))
	var truth []image.Rectangle
	for i := range caps {
		img := testutil.LoadGray(t, filepath.Join(dir, fmt.Sprintf("truth%d.png", i)))
		x0, y0, x1, y1 := w, h, -1, -1
		for y := range h {
			for x, v := range img.Pix[y*img.Stride:][:w] {
				// White, yellow, black: all far from the grey.
				if v < 128-40 || v > 128+40 {
					x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				}
			}
		}
		require.GreaterOrEqual(t, x1, 0, "caption %q drew nothing", caps[i].text)
		box := image.Rect(x0, y0, x1+1, y1+1)
		truth = append(truth, box)
	}
	return gray, truth
}

func detIoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

// detRequireWellFormed checks what Detect promises about every result.
func detRequireWellFormed(t *testing.T, img *image.Gray, boxes []image.Rectangle) {
	t.Helper()
	require.NotNil(t, boxes)
	for i, r := range boxes {
		require.False(t, r.Empty())
		require.True(t, r.In(img.Rect), "box %v outside %v", r, img.Rect)
		for j := i + 1; j < len(boxes); j++ {
			require.False(t, r.Overlaps(boxes[j]), "boxes %v and %v overlap", r, boxes[j])
		}
		if i > 0 {
			prev := boxes[i-1]
			sameRow := 2*(min(prev.Max.Y, r.Max.Y)-max(prev.Min.Y, r.Min.Y)) > min(prev.Dy(), r.Dy())
			if sameRow {
				require.Less(t, prev.Min.X, r.Min.X, "boxes of a row out of order: %v", boxes)
			} else {
				require.LessOrEqual(t, prev.Min.Y+prev.Max.Y, r.Min.Y+r.Max.Y, "rows out of order: %v", boxes)
			}
		}
	}
}

func TestDetectFindsCaptions(t *testing.T) {
	centre := "(w-tw)/2"
	tests := []struct {
		name string
		w, h int
		bg   string // lavfi source, %d %d for the size
		caps []detCaption
	}{
		{"white on semi-transparent box over colour bars", 720, 1280, "smptebars=size=%dx%d",
			[]detCaption{{text: "GUCCI bag 1:1 replica", font: detSans, size: 48, x: centre, y: "900", box: "black@0.6"}}},
		{"black on white", 720, 1280, "color=c=white:size=%dx%d",
			[]detCaption{{text: "LV AAA quality wallet", font: detSans, size: 40, x: "60", y: "300", color: "black"}}},
		{"outlined text over testsrc2", 720, 1280, "testsrc2=size=%dx%d",
			[]detCaption{{text: "GUCCI bag 1:1 replica", font: detSansBold, size: 50, x: centre, y: "700", border: 3}}},
		{"shadowed serif over testsrc2", 720, 1280, "testsrc2=size=%dx%d",
			[]detCaption{{text: "Free shipping over $50", font: detSerif, size: 52, x: centre, y: "500", color: "yellow", shadow: 3}}},
		{"chinese line on a box", 720, 1280, detDimTest,
			[]detCaption{{text: "古驰 高仿 包包 特价", font: detCJK, size: 52, x: centre, y: "h*3/4-th/2", box: "black@0.6"}}},
		{"vertical frame with two captions", 720, 1280, detDimTest, []detCaption{
			{text: "LV AAA quality wallet", font: detSans, size: 44, x: centre, y: "200", box: "black@0.6"},
			{text: "特价", font: detCJK, size: 60, x: "80", y: "1000", box: "red@0.7"},
		}},
		{"horizontal frame", 1280, 720, "testsrc2=size=%dx%d", []detCaption{
			{text: "Free shipping over $50", font: detSans, size: 40, x: "100", y: "600", box: "black@0.5"},
			{text: "Nike shoes", font: detSansBold, size: 90, x: "700", y: "80", border: 4},
		}},
		{"two lines on one box", 720, 1280, detDimTest, []detCaption{
			{text: "GUCCI bag 1:1 replica", font: detSans, size: 44, x: centre, y: "900", box: "black@0.6"},
			{text: "AAA quality, free ship", font: detSans, size: 44, x: centre, y: "958", box: "black@0.6"},
		}},
		{"box over a cellular automaton with noise", 720, 1280, detCellNoise,
			[]detCaption{{text: "GUCCI bag 1:1 replica", font: detSans, size: 48, x: centre, y: "900", box: "black@0.6"}}},
		{"small text", 720, 1280, "color=c=0x334455:size=%dx%d",
			[]detCaption{{text: "order now: link in bio", font: detSans, size: 14, x: "30", y: "40"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bg := tc.bg
			if strings.HasPrefix(bg, "cellauto") {
				bg = fmt.Sprintf(bg, tc.w/4, tc.h/4)
			} else {
				bg = fmt.Sprintf(bg, tc.w, tc.h)
			}
			img, truth := detRender(t, tc.w, tc.h, bg, tc.caps)
			boxes := Detect(img, DetectOptions{})
			detRequireWellFormed(t, img, boxes)
			for i, want := range truth {
				best := 0.0
				for _, got := range boxes {
					best = max(best, detIoU(want, got))
				}
				t.Logf("caption %q: truth %v, best IoU %.2f of %d boxes", tc.caps[i].text, want, best, len(boxes))
				require.GreaterOrEqual(t, best, 0.5, "caption %q at %v not found in %v", tc.caps[i].text, want, boxes)
			}
		})
	}
}

func TestDetectIgnoresPicturesWithoutText(t *testing.T) {
	tests := []struct{ name, bg string }{
		{"colour bars", "smptebars=size=720x1280"},
		{"gradient", "gradients=size=720x1280:speed=0.02"},
		{"horizontal colour bars", "smptehdbars=size=1280x720"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, _ := detRender(t, 0, 0, tc.bg, nil)
			boxes := Detect(img, DetectOptions{})
			detRequireWellFormed(t, img, boxes)
			require.Empty(t, boxes)
		})
	}
}

func TestDetectHeightBounds(t *testing.T) {
	img, truth := detRender(t, 720, 400, "color=c=black:size=720x400", []detCaption{
		{text: "tiny print", font: detSans, size: 14, x: "20", y: "20"},
		{text: "BIG SALE", font: detSansBold, size: 120, x: "20", y: "200"},
	})
	small, big := truth[0], truth[1]
	found := func(boxes []image.Rectangle, want image.Rectangle) bool {
		for _, b := range boxes {
			if detIoU(b, want) >= 0.5 {
				return true
			}
		}
		return false
	}
	all := Detect(img, DetectOptions{})
	require.True(t, found(all, small), "%v", all)
	require.True(t, found(all, big), "%v", all)
	onlyBig := Detect(img, DetectOptions{MinHeight: 40})
	require.False(t, found(onlyBig, small), "%v", onlyBig)
	require.True(t, found(onlyBig, big), "%v", onlyBig)
	onlySmall := Detect(img, DetectOptions{MaxHeight: 40})
	require.True(t, found(onlySmall, small), "%v", onlySmall)
	require.False(t, found(onlySmall, big), "%v", onlySmall)
}

// TestDetectMaxHeightScalesWithFrame: the default height bound is 160 px up
// to 1080p (on the short side, portrait or landscape) and grows with the
// frame beyond it, so a caption 250 px high on a 4K frame is a line.
func TestDetectMaxHeightScalesWithFrame(t *testing.T) {
	for _, tc := range []struct {
		w, h, want int
	}{
		{720, 1280, 160}, {1280, 720, 160}, {1920, 1080, 160}, {1080, 1920, 160},
		{2560, 1440, 213}, {3840, 2160, 320}, {2160, 3840, 320}, {7680, 4320, 640},
	} {
		require.Equal(t, tc.want, defaultMaxHeight(tc.w, tc.h), "%dx%d", tc.w, tc.h)
	}
	img, truth := detRender(t, 3840, 2160, "testsrc2=size=3840x2160", []detCaption{
		{text: "GUCCI 1:1 replica", font: detSans, size: 250, x: "(w-tw)/2", y: "h*3/4-th/2", box: "black@0.6"},
		{text: "tiny print", font: detSans, size: 14, x: "200", y: "200", box: "black@0.6"},
	})
	found := func(boxes []image.Rectangle, want image.Rectangle) bool {
		return slices.ContainsFunc(boxes, func(b image.Rectangle) bool { return detIoU(b, want) >= 0.5 })
	}
	boxes := Detect(img, DetectOptions{})
	detRequireWellFormed(t, img, boxes)
	for _, want := range truth {
		require.True(t, found(boxes, want), "%v not in %v", want, boxes)
	}
	at1080 := Detect(img, DetectOptions{MaxHeight: 160})
	require.False(t, found(at1080, truth[0]), "the 1080p bound misses the big line: %v", at1080)
	require.True(t, found(at1080, truth[1]), "%v", at1080)
}

func TestDetectSubImageCoordinates(t *testing.T) {
	img, truth := detRender(t, 720, 400, "color=c=white:size=720x400",
		[]detCaption{{text: "AAA quality", font: detSans, size: 40, x: "300", y: "250", color: "black"}})
	sub := img.SubImage(image.Rect(200, 200, 720, 400)).(*image.Gray)
	boxes := Detect(sub, DetectOptions{})
	require.Len(t, boxes, 1)
	require.True(t, boxes[0].In(sub.Rect))
	require.GreaterOrEqual(t, detIoU(boxes[0], truth[0]), 0.5, "%v vs %v", boxes[0], truth[0])
}

func TestDetectDegenerateImages(t *testing.T) {
	for _, r := range []image.Rectangle{{}, image.Rect(0, 0, 1, 1), image.Rect(0, 0, 5, 2000), image.Rect(10, 10, 30, 30)} {
		boxes := Detect(image.NewGray(r), DetectOptions{})
		require.NotNil(t, boxes)
		require.Empty(t, boxes)
	}
}

func TestDetectConcurrentUse(t *testing.T) {
	img, _ := detRender(t, 720, 1280, fmt.Sprintf(detDimTest, 720, 1280),
		[]detCaption{{text: "GUCCI bag 1:1 replica", font: detSans, size: 52, x: "(w-tw)/2", y: "h*3/4-th/2", box: "black@0.6"}})
	want := Detect(img, DetectOptions{})
	require.NotEmpty(t, want)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if got := Detect(img, DetectOptions{}); !slices.Equal(got, want) {
					t.Errorf("concurrent Detect = %v, want %v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestOrder(t *testing.T) {
	cs := []Crop{
		{Box: image.Rect(400, 102, 500, 140)}, // second on the first row, a little lower
		{Box: image.Rect(0, 500, 100, 540)},
		{Box: image.Rect(10, 100, 300, 138)},
	}
	order(cs)
	require.Equal(t, []Crop{
		{Box: image.Rect(10, 100, 300, 138)}, {Box: image.Rect(400, 102, 500, 140)}, {Box: image.Rect(0, 500, 100, 540)},
	}, cs)
}

func BenchmarkDetect(b *testing.B) {
	for _, bc := range []struct{ name, bg string }{
		{"caption", fmt.Sprintf(detDimTest, 720, 1280)},
		{"cellauto", fmt.Sprintf(detCellNoise, 180, 320)},
	} {
		img, _ := detRender(b, 720, 1280, bc.bg, []detCaption{
			{text: "GUCCI bag 1:1 replica", font: detSans, size: 52, x: "(w-tw)/2", y: "h*3/4-th/2", box: "black@0.6"},
		})
		b.Run(bc.name+"/720x1280", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Detect(img, DetectOptions{})
			}
		})
	}
}

// TestDetectBridgesFaintStretch draws a caption whose middle crosses a bar
// nearly as light as the text: there its edges fall below the detector's
// threshold, and the words on either side are found apart. The bridge joins
// them into one line; two captions on the same rows with empty background
// between them stay apart.
func TestDetectBridgesFaintStretch(t *testing.T) {
	const bars = "color=c=0x303030:size=%dx%d,drawbox=x=420:y=0:w=220:h=720:color=0xE2E2E2:t=fill"
	tests := []struct {
		name  string
		caps  []detCaption
		boxes int
	}{
		{"white text across a light bar", []detCaption{
			{text: "Nike Dunk knockoff shoes", font: detSans, size: 52, x: "300", y: "500"},
		}, 1},
		{"two captions apart on the same rows", []detCaption{
			{text: "Nike", font: detSans, size: 52, x: "60", y: "500"},
			{text: "Free shipping", font: detSans, size: 52, x: "800", y: "500"},
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, truth := detRender(t, 1280, 720, fmt.Sprintf(bars, 1280, 720), tc.caps)
			boxes := Detect(img, DetectOptions{})
			detRequireWellFormed(t, img, boxes)
			require.Len(t, boxes, tc.boxes, "boxes %v", boxes)
			for _, want := range truth {
				best := 0.0
				for _, b := range boxes {
					best = max(best, detIoU(b, want))
				}
				require.GreaterOrEqual(t, best, 0.5, "caption %v not found in %v", want, boxes)
			}
		})
	}
}
