package clipgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Small clips keep the suite cheap on a 2-core box: 360x640, a second or two.
const (
	testW, testH = 360, 640
	brightLuma   = 170 // white glyphs stay above this after x264; the default background is ~35
)

func requireFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed: %v", bin, err)
		}
	}
}

type probeResult struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		PixFmt    string `json:"pix_fmt"`
		FrameRate string `json:"r_frame_rate"`
		NbFrames  string `json:"nb_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probe(t *testing.T, path string) probeResult {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", path).Output()
	require.NoError(t, err)
	var p probeResult
	require.NoError(t, json.Unmarshal(out, &p))
	return p
}

// grayFrames decodes every frame of path into 8-bit luma planes of w*h bytes.
func grayFrames(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	require.NoError(t, err)
	size := w * h
	require.Zero(t, len(out)%size, "raw output is not whole frames")
	frames := make([][]byte, 0, len(out)/size)
	for off := 0; off < len(out); off += size {
		frames = append(frames, out[off:off+size])
	}
	return frames
}

// band is a horizontal strip of rows [y0, y1) across the whole width.
type band struct{ y0, y1 int }

// bright counts the pixels of b in frame brighter than brightLuma.
func bright(frame []byte, w int, b band) int {
	n := 0
	for _, v := range frame[b.y0*w : b.y1*w] {
		if v > brightLuma {
			n++
		}
	}
	return n
}

// brightCentroidX is the mean column of the bright pixels of b, or -1 when there are none.
func brightCentroidX(frame []byte, w int, b band) float64 {
	sum, n := 0, 0
	for i, v := range frame[b.y0*w : b.y1*w] {
		if v > brightLuma {
			sum += i % w
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return float64(sum) / float64(n)
}

func TestGenerateTwoCaptions(t *testing.T) {
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "two.mp4")
	clip := Clip{
		Name:       "two",
		Width:      testW,
		Height:     testH,
		DurationMS: 2000,
		Category:   "plain",
		Captions: []Caption{
			// At 25 fps: frames 5..22 (t = 0.20 .. 0.88 s).
			{Text: "HELLO one", StartMS: 200, EndMS: 900, Size: 32, Box: "black@0.6"},
			// Frames 28..44 (t = 1.12 .. 1.76 s); 1.08 s is before the start, 1.80 s is the end.
			{Text: "GUCCI 1:1 replica", StartMS: 1100, EndMS: 1800, Size: 32, Y: "h/4-th/2",
				Brand: "gucci", Phrase: "replica", Counterfeit: true},
		},
	}
	truth, err := Generate(context.Background(), clip, out)
	require.NoError(t, err)

	p := probe(t, out)
	require.Len(t, p.Streams, 1, "one video stream, no audio")
	s := p.Streams[0]
	require.Equal(t, "video", s.CodecType)
	require.Equal(t, "h264", s.CodecName)
	require.Equal(t, testW, s.Width)
	require.Equal(t, testH, s.Height)
	require.Equal(t, "yuv420p", s.PixFmt)
	require.Equal(t, "25/1", s.FrameRate)
	require.Equal(t, "50", s.NbFrames)
	dur, err := strconv.ParseFloat(p.Format.Duration, 64)
	require.NoError(t, err)
	require.InDelta(t, 2.0, dur, 0.05)

	t.Run("truth round-trips", func(t *testing.T) {
		require.Equal(t, Truth{
			Clip: "two", Width: testW, Height: testH, DurationMS: 2000, FPS: 25, Category: "plain",
			Captions: truth.Captions,
		}, truth)
		require.Equal(t, "sans", truth.Captions[0].Font, "default font recorded")
		require.Equal(t, DefaultColor, truth.Captions[1].Color, "default colour recorded")
		data, err := os.ReadFile(filepath.Join(filepath.Dir(out), "two.truth.json"))
		require.NoError(t, err)
		var got Truth
		require.NoError(t, json.Unmarshal(data, &got))
		require.Equal(t, truth, got)
		require.Contains(t, string(data), `"duration_ms": 2000`, "snake_case keys")
		require.Contains(t, string(data), `"start_ms": 1100`)
	})

	t.Run("captions show exactly in their frames", func(t *testing.T) {
		frames := grayFrames(t, out, testW, testH)
		require.Len(t, frames, 50)
		bottom := band{testH*3/4 - 30, testH*3/4 + 30}
		top := band{testH/4 - 30, testH/4 + 30}
		for n, f := range frames {
			wantBottom := n >= 5 && n <= 22
			wantTop := n >= 28 && n <= 44
			require.Equal(t, wantBottom, bright(f, testW, bottom) > 100, "frame %d bottom caption", n)
			require.Equal(t, wantTop, bright(f, testW, top) > 100, "frame %d top caption", n)
		}
	})
}

// TestGenerateRenders checks that captions with awkward content and every style draw
// visible glyphs without an ffmpeg error.
func TestGenerateRenders(t *testing.T) {
	requireFFmpeg(t)
	tests := []struct {
		name     string
		caption  Caption
		wantFont string
	}{
		{"chinese picks cjk font", Caption{Text: "古驰 高仿 包包"}, "cjk"},
		{"chinese with explicit cjk-bold", Caption{Text: "高仿 AAA", Font: "cjk-bold"}, "cjk-bold"},
		{"filtergraph and drawtext specials", Caption{Text: `a:b 'q' "dq" 100% \n \\ , ; [x] =`}, "sans"},
		{"expansion syntax stays literal", Caption{Text: `%{pts} %{n} %%`}, "sans"},
		{"outline no box", Caption{Text: "GUCCI AAA", Font: "sans-bold", Border: 3}, "sans-bold"},
		{"shadow serif italic", Caption{Text: "Gucci replica", Font: "serif-italic", Shadow: 3}, "serif-italic"},
		{"serif bold yellow", Caption{Text: "GUCCI", Font: "serif-bold", Color: "yellow"}, "serif-bold"},
		{"mono box", Caption{Text: "1:1 replica", Font: "mono", Box: "black@0.6"}, "mono"},
		{"serif", Caption{Text: "replica", Font: "serif"}, "serif"},
		{"two lines", Caption{Text: "GUCCI\nreplica"}, "sans"},
	}
	b := band{testH*3/4 - 40, testH*3/4 + 40}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := tt.caption
			cp.StartMS, cp.EndMS, cp.Size = 0, 400, 32
			out := filepath.Join(t.TempDir(), "c.mp4")
			truth, err := Generate(context.Background(), Clip{
				Name: "c", Width: testW, Height: testH, DurationMS: 400, Captions: []Caption{cp},
			}, out)
			require.NoError(t, err)
			require.Equal(t, tt.wantFont, truth.Captions[0].Font)
			require.Equal(t, tt.caption.Text, truth.Captions[0].Text)
			frames := grayFrames(t, out, testW, testH)
			require.Len(t, frames, 10)
			first, last := frames[0], frames[len(frames)-1]
			require.Greater(t, bright(first, testW, b), 100, "glyphs drawn")
			// With expansion on, %{pts} and %{n} would change from frame to frame.
			require.InDelta(t, bright(first, testW, b), bright(last, testW, b), 20, "text is static")
		})
	}
}

func TestGenerateScrolls(t *testing.T) {
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "scroll.mp4")
	_, err := Generate(context.Background(), Clip{
		Name: "scroll", Width: testW, Height: testH, DurationMS: 1200,
		Captions: []Caption{{Text: "GUCCI 1:1 replica", EndMS: 1200, Size: 32, ScrollPxPerS: 300}},
	}, out)
	require.NoError(t, err)
	frames := grayFrames(t, out, testW, testH)
	b := band{testH*3/4 - 30, testH*3/4 + 30}
	require.Equal(t, -1.0, brightCentroidX(frames[0], testW, b), "starts just off the right edge")
	mid, late := brightCentroidX(frames[10], testW, b), brightCentroidX(frames[25], testW, b)
	require.Positive(t, mid)
	require.Positive(t, late)
	require.Less(t, late, mid, "moves right to left")
}

func TestGenerateRepeatable(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	clip := Clip{
		Name: "rep", Width: testW, Height: testH, DurationMS: 2000, Background: "testsrc2",
		Captions: []Caption{{Text: "GUCCI 1:1 replica", StartMS: 500, EndMS: 1500, Size: 32, Box: "black@0.6"}},
	}
	var clips [2][]byte
	for i := range clips {
		out := filepath.Join(dir, strconv.Itoa(i)+".mp4")
		_, err := Generate(context.Background(), clip, out)
		require.NoError(t, err)
		clips[i], err = os.ReadFile(out)
		require.NoError(t, err)
	}
	require.True(t, bytes.Equal(clips[0], clips[1]), "same clip, same bytes")
}

func TestGenerateBackgrounds(t *testing.T) {
	requireFFmpeg(t)
	for _, bg := range []string{"", "testsrc2", "smptebars", "cellauto", "mandelbrot", "life",
		"color=c=0x336699", "color=red", "gradients=speed=0.05", "testsrc2,eq=brightness=-0.3:saturation=0.4"} {
		t.Run(bg, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "bg.mp4")
			_, err := Generate(context.Background(), Clip{
				Name: "bg", Width: testW, Height: testH, DurationMS: 200, Background: bg, Noise: 10,
			}, out)
			require.NoError(t, err)
			p := probe(t, out)
			require.Equal(t, testW, p.Streams[0].Width)
			require.Equal(t, testH, p.Streams[0].Height)
			require.Equal(t, "5", p.Streams[0].NbFrames)
		})
	}
}

func TestGenerateFFmpegErrors(t *testing.T) {
	requireFFmpeg(t)
	tests := []struct {
		name    string
		clip    Clip
		wantMsg string // from ffmpeg's stderr
	}{
		{"unknown background", Clip{Background: "nosuchsource"}, "No such filter: 'nosuchsource'"},
		{"bad background option", Clip{Background: "testsrc2=bogus=1"}, "bogus"},
		{"bad colour", Clip{Captions: []Caption{{Text: "x", EndMS: 200, Color: "notacolour"}}}, "notacolour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "bad.mp4")
			c := tt.clip
			c.Name, c.Width, c.Height, c.DurationMS = "bad", testW, testH, 200
			_, err := Generate(context.Background(), c, out)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantMsg)
			require.Contains(t, err.Error(), "clipgen: ffmpeg bad")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "no clip, truth or temporary file left behind")
		})
	}
}

func TestGenerateEscapesPaths(t *testing.T) {
	requireFFmpeg(t)
	// Caption text files live in TMPDIR, whose path goes into the filtergraph.
	weird := filepath.Join(t.TempDir(), `it's [a]: b,c; d\e `)
	require.NoError(t, os.MkdirAll(weird, 0o755))
	t.Setenv("TMPDIR", weird)
	out := filepath.Join(weird, "out clip.mp4")
	_, err := Generate(context.Background(), Clip{
		Name: "weird", Width: testW, Height: testH, DurationMS: 200,
		Captions: []Caption{{Text: "GUCCI", EndMS: 200, Size: 32}},
	}, out)
	require.NoError(t, err)
	require.FileExists(t, out)
	require.FileExists(t, filepath.Join(weird, "out clip.truth.json"))
}

func TestGenerateRelativePath(t *testing.T) {
	requireFFmpeg(t)
	t.Chdir(t.TempDir())
	_, err := Generate(context.Background(), Clip{Name: "rel", Width: testW, Height: testH, DurationMS: 200}, "rel.mp4")
	require.NoError(t, err)
	require.FileExists(t, "rel.mp4")
	require.FileExists(t, "rel.truth.json")
}

func TestGenerateCanceled(t *testing.T) {
	requireFFmpeg(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := Generate(ctx, Clip{Name: "x", DurationMS: 1000}, filepath.Join(dir, "x.mp4"))
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestGenerateReadable checks the ground-truth premise: Tesseract reads a default
// caption exactly from a tight crop.
func TestGenerateReadable(t *testing.T) {
	requireFFmpeg(t)
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Skipf("tesseract not installed: %v", err)
	}
	const text = "GUCCI bag 1:1 replica"
	dir := t.TempDir()
	out := filepath.Join(dir, "r.mp4")
	_, err := Generate(context.Background(), Clip{
		Name: "r", Width: 720, Height: 240, DurationMS: 200,
		Captions: []Caption{{Text: text, EndMS: 200, Size: 52, Box: "black@0.6", Y: "(h-th)/2"}},
	}, out)
	require.NoError(t, err)
	png := filepath.Join(dir, "line.png")
	require.NoError(t, exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", out, "-frames:v", "1",
		"-vf", "crop=720:90:0:75", png).Run())
	cmd := exec.Command("tesseract", png, "-", "-l", "eng", "--psm", "7")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	got, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, text, strings.TrimSpace(string(got)))
}

func TestNormalizeRejects(t *testing.T) {
	ok := func(c Clip) Clip {
		c.Name, c.DurationMS = "c", 1000
		return c
	}
	tests := []struct {
		name string
		clip Clip
		want string
	}{
		{"no duration", Clip{Name: "c"}, "duration_ms"},
		{"odd width", ok(Clip{Width: 721, Height: 1280}), "even"},
		{"tiny", ok(Clip{Width: 8, Height: 8}), "16..8192"},
		{"crf", ok(Clip{CRF: 60}), "crf"},
		{"noise", ok(Clip{Noise: 101}), "noise"},
		{"fps", ok(Clip{FPS: -1}), "fps"},
		{"empty text", ok(Clip{Captions: []Caption{{Text: " ", EndMS: 10}}}), "empty text"},
		{"invalid utf-8", ok(Clip{Captions: []Caption{{Text: "a\xffb", EndMS: 10}}}), "UTF-8"},
		{"end before start", ok(Clip{Captions: []Caption{{Text: "a", StartMS: 500, EndMS: 500}}}), "not within"},
		{"past the end", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 1001}}}), "not within"},
		{"negative start", ok(Clip{Captions: []Caption{{Text: "a", StartMS: -1, EndMS: 10}}}), "not within"},
		{"han in latin font", ok(Clip{Captions: []Caption{{Text: "高仿", EndMS: 10, Font: "sans"}}}), "no CJK glyphs"},
		{"unknown font", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Font: "comic"}}}), "unknown font"},
		{"x with scroll", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, X: "0", ScrollPxPerS: 10}}}), "exclude"},
		{"angle", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Angle: 50}}}), "angle"},
		{"tilt", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Tilt: 0.7}}}), "tilt"},
		{"jitter", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Jitter: -1}}}), "jitter"},
		{"size_to", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, SizeTo: -1}}}), "size_to"},
		{"scrolling sticker", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Angle: 5, ScrollPxPerS: 10}}}), "does not scroll"},
		{"counterfeit without phrase", ok(Clip{Captions: []Caption{{Text: "a", EndMS: 10, Brand: "gucci", Counterfeit: true}}}), "counterfeit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := normalize(tt.clip)
			require.ErrorIs(t, err, ErrInvalidClip)
			require.ErrorContains(t, err, tt.want)
			_, err = Generate(context.Background(), tt.clip, filepath.Join(t.TempDir(), "x.mp4"))
			require.ErrorIs(t, err, ErrInvalidClip)
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	c, err := normalize(Clip{Name: "d", DurationMS: 1000, Captions: []Caption{
		{Text: "GUCCI", EndMS: 500, Border: 2},
		{Text: "高仿", StartMS: 500, EndMS: 1000, ScrollPxPerS: 100},
	}})
	require.NoError(t, err)
	require.Equal(t, 720, c.Width)
	require.Equal(t, 1280, c.Height)
	require.Equal(t, 25, c.FPS)
	require.Equal(t, 28, c.CRF)
	require.Equal(t, Caption{Text: "GUCCI", EndMS: 500, Font: "sans", Size: 48, Color: "white",
		Border: 2, BorderColor: "black", X: "(w-tw)/2", Y: "h*3/4-th/2"}, c.Captions[0])
	require.Equal(t, "cjk", c.Captions[1].Font)
	require.Equal(t, "w-(t-0.500)*100", c.Captions[1].X)
}

func TestFontFile(t *testing.T) {
	for _, key := range FontKeys() {
		t.Run(key, func(t *testing.T) {
			p, err := FontFile(key)
			require.NoError(t, err)
			require.FileExists(t, p)
		})
	}
	t.Run("absolute path", func(t *testing.T) {
		p, err := FontFile("sans")
		require.NoError(t, err)
		got, err := FontFile(p)
		require.NoError(t, err)
		require.Equal(t, p, got)
	})
	t.Run("unknown", func(t *testing.T) {
		_, err := FontFile("comic")
		require.ErrorIs(t, err, ErrUnknownFont)
	})
}

func TestFilterValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/share/fonts/a.ttf", `\'/usr/share/fonts/a.ttf\'`},
		{"gte(n,5)*lt(n,22)", `\'gte(n\,5)*lt(n\,22)\'`},
		{"a:b", `\'a:b\'`},
		{`it's`, `\'it\'\\\'\'s\'`},
		{`[x];y\z`, `\'\[x\]\;y\\z\'`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, filterValue(tt.in), tt.in)
	}
}

func TestBackground(t *testing.T) {
	c := Clip{Width: 720, Height: 1280, FPS: 25}
	tests := []struct{ bg, want string }{
		{"", "color=c=0x1e2430:size=720x1280:rate=25,scale=720:1280,setsar=1,fps=25"},
		{"testsrc2", "testsrc2=size=720x1280:rate=25,scale=720:1280,setsar=1,fps=25"},
		{"color=c=0x336699", "color=c=0x336699:size=720x1280:rate=25,scale=720:1280,setsar=1,fps=25"},
		{"testsrc2=s=320x240:r=30,eq=brightness=-0.3", "testsrc2=s=320x240:r=30,eq=brightness=-0.3,scale=720:1280,setsar=1,fps=25"},
		{"cellauto", "cellauto=size=180x320:rate=25:seed=1:start_full=1,scale=720:1280:flags=neighbor,setsar=1,fps=25"},
		{"life=mold=10", "life=mold=10:size=180x320:rate=25:seed=1,scale=720:1280:flags=neighbor,setsar=1,fps=25"},
		{"cellauto=rule=30:seed=7", "cellauto=rule=30:seed=7:size=180x320:rate=25:start_full=1,scale=720:1280:flags=neighbor,setsar=1,fps=25"},
		{"mandelbrot", "mandelbrot=size=180x320:rate=25,scale=720:1280:flags=neighbor,setsar=1,fps=25"},
	}
	for _, tt := range tests {
		c.Background = tt.bg
		require.Equal(t, tt.want, background(c, ""), tt.bg)
	}
}

func TestDemoClip(t *testing.T) {
	c, err := normalize(DemoClip())
	require.NoError(t, err)
	require.Equal(t, 720, c.Width)
	require.Equal(t, 1280, c.Height)
	var prevEnd int64
	counterfeit := 0
	for _, cp := range c.Captions {
		require.GreaterOrEqual(t, cp.StartMS-prevEnd, int64(1000), "a gap of at least 1 s before %q", cp.Text)
		require.GreaterOrEqual(t, cp.Size, 44)
		require.LessOrEqual(t, cp.Size, 56)
		prevEnd = cp.EndMS
		if cp.Counterfeit {
			counterfeit++
		}
	}
	require.Equal(t, 3, counterfeit)

	// The committed clip's truth must match the code, or the clip needs regenerating:
	// go run ./testdata/clipgen -demo -out testdata/demo.mp4
	data, err := os.ReadFile("../../testdata/demo.truth.json")
	require.NoError(t, err)
	var committed Truth
	require.NoError(t, json.Unmarshal(data, &committed))
	require.Equal(t, Truth{
		Clip: c.Name, Width: c.Width, Height: c.Height, DurationMS: c.DurationMS, FPS: c.FPS,
		Category: c.Category, Captions: c.Captions,
	}, committed, "testdata/demo.truth.json is stale")
	st, err := os.Stat("../../testdata/demo.mp4")
	require.NoError(t, err)
	require.LessOrEqual(t, st.Size(), int64(2<<20), "demo clip must stay within 2 MB")
}

func TestExampleSpec(t *testing.T) {
	data, err := os.ReadFile("../../testdata/clipgen/examples.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var clips []Clip
	require.NoError(t, dec.Decode(&clips))
	require.NotEmpty(t, clips)
	for _, c := range clips {
		_, err := normalize(c)
		require.NoError(t, err, c.Name)
	}
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	for i := range 5000 {
		_, _ = tb.Write([]byte("line " + strconv.Itoa(i) + "\n"))
	}
	require.LessOrEqual(t, len(tb.b), tailMax)
	require.Equal(t, ": line 4998; line 4999", tb.lastLines(2))
	require.Empty(t, (&tailBuffer{}).lastLines(3))
}

// brightRows returns the first and last row of frame (w wide) with a bright pixel, or -1, -1.
func brightRows(frame []byte, w int) (int, int) {
	first, last := -1, -1
	for y := 0; y < len(frame)/w; y++ {
		if bright(frame, w, band{y, y + 1}) > 0 {
			if first < 0 {
				first = y
			}
			last = y
		}
	}
	return first, last
}

// TestGenerateMotion checks stickers (rotated, warped, shaken) and growing
// captions: shown in their frames only, and moving as asked.
func TestGenerateMotion(t *testing.T) {
	requireFFmpeg(t)
	gen := func(t *testing.T, cp Caption) [][]byte {
		t.Helper()
		cp.Text, cp.Size = "GUCCI 1:1 replica", 32
		if cp.EndMS == 0 {
			cp.StartMS, cp.EndMS = 200, 1000
		}
		out := filepath.Join(t.TempDir(), "m.mp4")
		_, err := Generate(context.Background(), Clip{
			Name: "m", Width: testW, Height: testH, DurationMS: 1200, Captions: []Caption{cp},
		}, out)
		require.NoError(t, err)
		frames := grayFrames(t, out, testW, testH)
		require.Len(t, frames, 30)
		return frames
	}
	flat := gen(t, Caption{})
	f0, l0 := brightRows(flat[10], testW)
	require.Positive(t, f0)

	t.Run("tilted sticker shows in its frames, taller than flat text", func(t *testing.T) {
		frames := gen(t, Caption{Angle: 15})
		for n, f := range frames {
			first, _ := brightRows(f, testW)
			require.Equal(t, n >= 5 && n < 25, first >= 0, "frame %d", n)
		}
		first, last := brightRows(frames[10], testW)
		require.Greater(t, last-first, 2*(l0-f0), "a 15° turn spreads the text over more rows")
		require.InDelta(t, testH*3/4, (first+last)/2, 10, "centred at H*3/4")
	})
	t.Run("sign held at an angle: right end shorter", func(t *testing.T) {
		frames := gen(t, Caption{Tilt: 0.5, Box: "white@1", Color: "black"})
		f := frames[10]
		height := func(x int) int {
			n := 0
			for y := range testH {
				if f[y*testW+x] > brightLuma {
					n++
				}
			}
			return n
		}
		left, right := 0, 0
		for x := range testW {
			if height(x) > 0 {
				if left == 0 {
					left = x
				}
				right = x
			}
		}
		require.Greater(t, height(left+3), height(right-3)+5, "the box's left edge is taller than its right")
	})
	t.Run("hand-held sticker shakes", func(t *testing.T) {
		frames := gen(t, Caption{Jitter: 12})
		b := band{testH*3/4 - 60, testH*3/4 + 60}
		xs := map[int]bool{}
		for _, f := range frames[5:25] {
			xs[int(brightCentroidX(f, testW, b))/3] = true
		}
		require.Greater(t, len(xs), 4, "the centre moves from frame to frame")
	})
	t.Run("growing caption", func(t *testing.T) {
		frames := gen(t, Caption{SizeTo: 64})
		f6, l6 := brightRows(frames[6], testW)
		f24, l24 := brightRows(frames[24], testW)
		require.Positive(t, f6)
		require.Greater(t, float64(l24-f24), 1.6*float64(l6-f6), "size 33 at frame 6, 62 at frame 24")
	})
}
