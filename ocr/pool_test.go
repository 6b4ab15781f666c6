package ocr

import (
	"bytes"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// render draws text with ffmpeg's drawtext onto a dark frame and returns it as gray.
func render(t *testing.T, w, h int, text, font string, size, y int) *image.Gray {
	t.Helper()
	dir := t.TempDir()
	txt := filepath.Join(dir, "t.txt")
	require.NoError(t, os.WriteFile(txt, []byte(text), 0o644))
	out := filepath.Join(dir, "f.png")
	vf := "drawtext=fontfile=" + font + ":textfile=" + txt + ":fontsize=" + itoa(size) +
		":fontcolor=white:box=1:boxcolor=black@0.7:boxborderw=10:x=(w-tw)/2:y=" + itoa(y)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "color=c=0x556677:size="+itoa(w)+"x"+itoa(h),
		"-vf", vf, "-frames:v", "1", out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return testutil.LoadGray(t, out)
}

func itoa(i int) string { return strconv.Itoa(i) }

const (
	sans = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	cjk  = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
)

func TestReadWholeFrame(t *testing.T) {
	p, err := NewPool(Options{Size: 1})
	require.NoError(t, err)
	defer p.Close()

	tests := []struct {
		name string
		text string
		font string
		want string
	}{
		{"latin caption", "GUCCI bag 1:1 replica", sans, "GUCCI bag 1:1 replica"},
		{"chinese caption", "古驰 高仿 包包", cjk, "古驰高仿包包"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, 720, 400, tc.text, tc.font, 48, 200)
			lines, err := p.Read(context.Background(), img, nil)
			require.NoError(t, err)
			var got []string
			for _, l := range lines {
				got = append(got, l.Text)
				require.True(t, l.Box.In(img.Rect), "box %v outside image", l.Box)
			}
			all := strings.ReplaceAll(strings.Join(got, "|"), " ", "")
			require.Contains(t, all, strings.ReplaceAll(tc.want, " ", ""), "lines: %q", got)
		})
	}
}

func TestReadRegionsKeepsFrameCoordinates(t *testing.T) {
	p, err := NewPool(Options{Size: 1, Languages: []string{"eng"}})
	require.NoError(t, err)
	defer p.Close()
	img := render(t, 720, 400, "LV AAA quality", sans, 40, 300)
	region := image.Rect(0, 280, 720, 370)
	lines, err := p.Read(context.Background(), img, []image.Rectangle{region})
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Equal(t, "LV AAA quality", lines[0].Text)
	require.Equal(t, region, lines[0].Box)
	require.Greater(t, lines[0].Confidence, 50.0)
}

func TestConcurrentReadsAndClose(t *testing.T) {
	p, err := NewPool(Options{Size: 2, Languages: []string{"eng"}})
	require.NoError(t, err)
	img := render(t, 400, 120, "super copy", sans, 40, 40)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines, err := p.Read(context.Background(), img, nil)
			require.NoError(t, err)
			require.NotEmpty(t, lines)
		}()
	}
	wg.Wait()
	require.NoError(t, p.Close())
	_, err = p.Read(context.Background(), img, nil)
	require.ErrorIs(t, err, ErrClosed)
}

func TestCancelledContext(t *testing.T) {
	p, err := NewPool(Options{Size: 1, Languages: []string{"eng"}})
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Read(ctx, image.NewGray(image.Rect(0, 0, 10, 10)), nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestMissingLanguage(t *testing.T) {
	_, err := NewPool(Options{Size: 1, Languages: []string{"klingon"}})
	require.ErrorContains(t, err, `"klingon" is not installed`)
	var le *LanguageError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "klingon", le.Language)
	require.Contains(t, le.Have, "eng")
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  GUCCI   bag\n1:1 ", "GUCCI bag 1:1"},
		{"古 驰 高 仿", "古驰高仿"},
		{"LV 古 驰 AAA", "LV 古驰 AAA"},
		{"", ""},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, cleanText(tc.in), tc.in)
	}
}

func BenchmarkEncodeBMP(b *testing.B) {
	img := image.NewGray(image.Rect(0, 0, 720, 1280))
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeBMP(img)
	}
}

// TestConcurrentPoolsKeepStderr: gosseract points stderr at /dev/null while a
// client initialises; overlapping initialisations once left it there for good.
func TestConcurrentPoolsKeepStderr(t *testing.T) {
	before, err := os.Readlink("/proc/self/fd/2")
	require.NoError(t, err)
	var wg sync.WaitGroup
	pools := make([]*Pool, 4)
	errs := make([]error, len(pools))
	for i := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pools[i], errs[i] = NewPool(Options{Size: 2})
		}()
	}
	wg.Wait()
	for i, p := range pools {
		require.NoError(t, errs[i])
		require.NoError(t, p.Close())
	}
	after, err := os.Readlink("/proc/self/fd/2")
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// TestEncodeBMPKeepsPixels: the BMP handed to Tesseract decodes to the
// grey levels of the image, of any width (rows padded to 4 bytes) and for
// a sub-image; Tesseract takes it (initClient reads a blank one).
func TestEncodeBMPKeepsPixels(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {3, 2}, {5, 7}, {601, 33}} {
		full := image.NewGray(image.Rect(0, 0, size.X+3, size.Y+2))
		for i := range full.Pix {
			full.Pix[i] = uint8(i * 37)
		}
		img := full.SubImage(image.Rect(2, 1, 2+size.X, 1+size.Y)).(*image.Gray)
		got, err := bmp.Decode(bytes.NewReader(encodeBMP(img)))
		require.NoError(t, err, "%v", size)
		require.Equal(t, image.Rect(0, 0, size.X, size.Y), got.Bounds())
		for y := range size.Y {
			for x := range size.X {
				r, _, _, _ := got.At(x, y).RGBA()
				require.Equal(t, img.GrayAt(2+x, 1+y).Y, uint8(r>>8), "pixel %d,%d of %v", x, y, size)
			}
		}
	}
	c := newClient()
	defer func() { require.NoError(t, closeClient(c)) }()
	require.NoError(t, c.SetLanguage("eng"))
	require.NoError(t, initClient(c))
}
