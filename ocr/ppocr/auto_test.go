package ppocr

import (
	"context"
	"image"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/ocr"
)

// TestAutoReadsEachLineWithTheEngineThatWins runs the stage as a stream
// would, over one picture: a level caption is Tesseract's; a tilted one,
// which the classical detector cuts into fragments read without
// confidence, is PP-OCR's from the next frame on (the fragments' region is
// scanned once they are read); a third frame reuses both readings and
// scans nothing again.
func TestAutoReadsEachLineWithTheEngineThatWins(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	img := testutil.LoadGray(t, frame(t, "[bg]drawtext=fontfile="+sansFont+":textfile="+textFile(t, "Live sale tonight")+
		":fontsize=40:fontcolor=white:box=1:boxcolor=black@0.7:boxborderw=10:x=80:y=600[c];"+
		"color=c=black@0:size=900x200,format=rgba,drawtext=fontfile="+cjkFont+":textfile="+textFile(t, "古驰 高仿包 特价")+
		":fontsize=56:fontcolor=yellow:borderw=2:x=(w-tw)/2:y=(h-th)/2,rotate=12*PI/180:c=none:ow=rotw(12*PI/180):oh=roth(12*PI/180)[t];[c][t]overlay=150:120"))

	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	r, err := lines.NewReader(lines.Options{Engine: a, Propose: st})
	require.NoError(t, err)
	defer r.Close()
	first := readFrame(t, r, img)
	require.Zero(t, st.scans, "the first frame's lines are judged once read")
	require.NotContains(t, first, "古驰高仿包特价", "%v", first)
	require.Contains(t, first, "Livesaletonight", "%v", first)
	require.Equal(t, "tesseract", first["Livesaletonight"].Engine)

	second := readFrame(t, r, img)
	require.Equal(t, 1, st.scans)
	require.Contains(t, second, "古驰高仿包特价", "%v", second)
	require.Equal(t, "ppocr", second["古驰高仿包特价"].Engine)
	require.True(t, second["Livesaletonight"].Reused, "%v", second)

	third := readFrame(t, r, img)
	require.True(t, third["古驰高仿包特价"].Reused, "%v", third)
	for _, l := range third {
		require.True(t, l.Reused, "%+v", l) // the fragments are gone, not read again
	}
	require.Equal(t, 1, st.scans, "the picture did not change: no second scan")
}

// TestAutoReadsAStickerOverAMovingPicture: a tilted sticker appears over a
// picture that moves everywhere, and stays. The classical detector finds
// only fragments of it. The scan of what changed covers the whole frame
// at most once per autoCadence frames at full scale, or coarser more
// often, and finds the sticker; its box stays on the frames after while
// the pixels under it do, although everything around it changes.
func TestAutoReadsAStickerOverAMovingPicture(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	sticker := "color=c=black@0:size=760x220,format=rgba,drawtext=fontfile=" + cjkFont + ":textfile=" + textFile(t, "巴黎世家 高仿 老爹鞋") +
		":fontsize=56:fontcolor=white:box=1:boxcolor=0xc02060@0.9:boxborderw=14:x=(w-tw)/2:y=(h-th)/2," +
		"rotate=16*PI/180:c=none:ow=rotw(16*PI/180):oh=roth(16*PI/180)[t];[bg][t]overlay=240:260"
	frames := []*image.Gray{testutil.LoadGray(t, frameAt(t, 0, "[bg]null"))}
	for sec := 1; sec <= 5; sec++ {
		frames = append(frames, testutil.LoadGray(t, frameAt(t, sec, sticker)))
	}
	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	r, err := lines.NewReader(lines.Options{Engine: a, Propose: st})
	require.NoError(t, err)
	defer r.Close()
	const want = "巴黎世家高仿老爹鞋"
	require.NotContains(t, readFrame(t, r, frames[0]), want)
	readFrame(t, r, frames[1])
	for i, img := range frames[2:] {
		got := readFrame(t, r, img)
		require.Contains(t, got, want, "frame %d: %v", i+2, got)
		require.Equal(t, "ppocr", got[want].Engine)
	}
	require.Less(t, st.scans, len(frames), "fewer scans than frames")
}

// readFrame reads one frame through r and returns its lines by their text,
// without whitespace.
func readFrame(t *testing.T, r *lines.Reader, img *image.Gray) map[string]lines.Line {
	t.Helper()
	p, err := r.Start(context.Background(), img)
	require.NoError(t, err)
	got, err := p.Wait()
	require.NoError(t, err)
	m := map[string]lines.Line{}
	for _, l := range got {
		t.Logf("%v %q %.0f %s reused=%v", l.Box, l.Text, l.Confidence, l.Engine, l.Reused)
		m[squeeze(l.Text)] = l
	}
	return m
}

func TestTooFewCharactersForTheLine(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		glyphs image.Rectangle
		want   bool
	}{
		{"a caption read whole", "Dior replica sneakers", image.Rect(0, 0, 500, 40), false},
		{"faint glyphs left out", "plica ers", image.Rect(0, 0, 500, 40), true},
		{"a short word in a short box", "LV", image.Rect(0, 0, 60, 40), false},
		{"capitals in a wide bold face", "DIOR SADDLE BAG AAA", image.Rect(0, 0, 584, 30), false},
		{"capitals with most left out", "DIOR SAD", image.Rect(0, 0, 584, 30), true},
		{"mixed case as wide", "Dior saddle bag AAA", image.Rect(0, 0, 584, 30), true},
		{"han text is not judged", "古驰", image.Rect(0, 0, 500, 40), false},
		{"no glyph box", "x", image.Rectangle{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tooFew(tc.text, tc.glyphs))
		})
	}
}

func TestLengthenedAlongTheLongSide(t *testing.T) {
	frame := image.Rect(0, 0, 1000, 1000)
	level := Box{q: quad{{100, 100}, {300, 100}, {300, 140}, {100, 140}}}
	got := level.lengthened(0.25, frame)
	require.Equal(t, [4]image.Point{{90, 100}, {310, 100}, {310, 140}, {90, 140}}, got.Quad)
	column := Box{q: quad{{100, 100}, {140, 100}, {140, 300}, {100, 300}}}
	got = column.lengthened(0.25, frame)
	require.Equal(t, [4]image.Point{{100, 90}, {140, 90}, {140, 310}, {100, 310}}, got.Quad)
	edge := Box{q: quad{{0, 100}, {200, 100}, {200, 140}, {0, 140}}}
	require.Equal(t, 0, edge.lengthened(0.25, frame).Quad[0].X, "within the frame")
}

// plainCaption returns an auto engine and two pictures: one still, and the
// same with a plain level caption.
func plainCaption(t *testing.T) (*Auto, *image.Gray, *image.Gray) {
	t.Helper()
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pool.Close()) })
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	dir := t.TempDir()
	barePNG, captionPNG := filepath.Join(dir, "bare.png"), filepath.Join(dir, "caption.png")
	testutil.FFmpeg(t, "-f", "lavfi", "-i", "gradients=size=1280x720:seed=7", "-frames:v", "1", barePNG)
	testutil.FFmpeg(t, "-i", barePNG, "-vf", "drawtext=fontfile="+sansFont+":textfile="+textFile(t, "GUCCI handbag 1:1 replica")+
		":fontsize=44:fontcolor=white:box=1:boxcolor=black@0.7:boxborderw=12:x=(w-tw)/2:y=h-160", captionPNG)
	return a, testutil.LoadGray(t, barePNG), testutil.LoadGray(t, captionPNG)
}

// TestAutoLeavesPPOCRAloneForAPlainCaption: a level caption comes and goes
// over a picture that stays. Tesseract reads it with confidence, which
// accounts for both changes: PP-OCR's detector never runs.
func TestAutoLeavesPPOCRAloneForAPlainCaption(t *testing.T) {
	a, bare, caption := plainCaption(t)
	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	r, err := lines.NewReader(lines.Options{Engine: a, Propose: st})
	require.NoError(t, err)
	defer r.Close()
	readFrame(t, r, bare)
	for range 3 {
		got := readFrame(t, r, caption)
		require.Contains(t, got, "GUCCIhandbag1:1replica")
		require.Equal(t, "tesseract", got["GUCCIhandbag1:1replica"].Engine)
	}
	readFrame(t, r, bare)
	readFrame(t, r, bare)
	require.Zero(t, st.scans)
}

// TestAutoWaitsForAReadStillOut: a plain caption appears and the next
// frame comes while its reading is still out (lines.Reader keeps a read in
// flight per engine worker). The change inside the caption's line waits for
// that reading, which accounts for it: PP-OCR's detector never runs.
func TestAutoWaitsForAReadStillOut(t *testing.T) {
	a, bare, caption := plainCaption(t)
	found := func(img *image.Gray) []lines.Crop {
		var out []lines.Crop
		for _, b := range lines.Detect(img, lines.DetectOptions{}) {
			out = append(out, lines.Crop{Box: b, Text: b})
		}
		return out
	}
	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	propose := func(img *image.Gray) []lines.Crop {
		crops, err := st.Propose(context.Background(), img, found(img))
		require.NoError(t, err)
		return crops
	}
	propose(bare)
	crops := propose(caption)
	require.Len(t, crops, 1)
	propose(caption) // the first caption frame's reading is still out
	require.Zero(t, st.scans, "the caption's reading is still out")
	read, err := a.ReadLines(context.Background(), caption, crops)
	require.NoError(t, err)
	require.Len(t, read, 1)
	require.Equal(t, "GUCCI handbag 1:1 replica", read[0].Text)
	st.Observe(crops, read)
	propose(caption)
	propose(bare)
	propose(bare)
	require.Zero(t, st.scans)
}

// TestAutoJudgesADeferredChange: a change inside a classical line is
// explained by a sure reading of the line, unexplained by a doubtful one at
// once, and by none after autoWait frames.
func TestAutoJudgesADeferredChange(t *testing.T) {
	line, other, late := image.Rect(0, 0, 320, 32), image.Rect(0, 96, 320, 128), image.Rect(0, 176, 320, 208)
	const tw = 20
	cell := func(r image.Rectangle) int { return r.Min.Y/thumbCell*tw + 2 }
	s := &autoStream{pp: &Engine{}}
	s.deferred = []deferredCell{{i: cell(line), box: line}, {i: cell(other), box: other}, {i: cell(late), box: late}}
	s.Observe([]lines.Crop{{Box: line, Text: line}, {Box: other, Text: other}}, []lines.Reading{
		{Box: line, Text: "GUCCI handbag 1:1 replica", Confidence: 95},
		{Box: other, Text: "GUCCI handbag 1:1 replica", Confidence: 40},
	})
	got := s.judgeDeferred(tw, 12)
	require.False(t, got[cell(line)], "sure")
	require.True(t, got[cell(other)], "doubtful")
	require.False(t, got[cell(late)], "still waiting")
	require.Len(t, s.deferred, 1)
	got = s.judgeDeferred(tw, 12)
	require.True(t, got[cell(late)], "no reading within autoWait frames")
	require.Empty(t, s.deferred)
}

// faintOverNoise returns frames at the seconds given of a clip of temporal
// noise over mid gray with a faint caption from 1.5 s to 6 s:
// busy-lowcontrast's kind in the eval corpus, where the classical detector
// finds fragments of the caption, or nothing, frame by frame.
func faintOverNoise(t *testing.T, text string, secs ...float64) []*image.Gray {
	t.Helper()
	dir := t.TempDir()
	clip := filepath.Join(dir, "faint.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := clipgen.Generate(ctx, clipgen.Clip{Name: "faint", DurationMS: 7000, FPS: 15, Background: "color=c=0x6a6a6a", Noise: 40,
		Captions: []clipgen.Caption{{Text: text, StartMS: 1500, EndMS: 6000, Size: 46, Color: "0x9a9a9a"}}}, clip)
	require.NoError(t, err)
	var out []*image.Gray
	for i, sec := range secs {
		png := filepath.Join(dir, strconv.Itoa(i)+".png")
		testutil.FFmpeg(t, "-ss", strconv.FormatFloat(sec, 'f', 2, 64), "-i", clip, "-frames:v", "1", png)
		out = append(out, testutil.LoadGray(t, png))
	}
	return out
}

// TestAutoReadsAFaintCaptionWhole: a faint caption over noise. The
// classical detector proposes fragments of it, which neither engine reads
// whole; PP-OCR's detector, at full scale over a fragment's rows, finds
// the line, which PP-OCR reads whole; the line stays proposed on the next
// frames while the picture under it stays (the classical detector may
// find nothing there, and the coarse scan of the changing noise does not
// see so faint a line).
func TestAutoReadsAFaintCaptionWhole(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	const want = "FendiBaguettereplica"
	frames := faintOverNoise(t, "Fendi Baguette replica", 0.5, 2, 3, 4, 5)
	st, ok := a.Stream().(*autoStream)
	require.True(t, ok)
	r, err := lines.NewReader(lines.Options{Engine: a, Propose: st})
	require.NoError(t, err)
	defer r.Close()
	require.NotContains(t, readFrame(t, r, frames[0]), want)
	for i, img := range frames[1:] {
		var widest int
		for _, b := range lines.Detect(img, lines.DetectOptions{}) {
			widest = max(widest, b.Dx())
		}
		got := readFrame(t, r, img)
		t.Logf("frame %d: the classical detector's widest line %d px", i+1, widest)
		require.Contains(t, got, want, "frame %d: %v", i+1, got)
		require.Equal(t, "ppocr", got[want].Engine)
		require.Greater(t, got[want].Extent().Dx(), 400, "frame %d: where the whole line was read", i+1)
	}
}

// TestRefineFindsTheWholeLine: a box of a coarse scan that cuts a caption
// short and reaches past it (as at a third of full scale) becomes the line
// as the detector finds it at full scale, which PP-OCR reads whole; a box
// over no text stays as it is, and so does a tilted one.
func TestRefineFindsTheWholeLine(t *testing.T) {
	img := testutil.LoadGray(t, frame(t, "[bg]drawtext=fontfile="+sansFont+":textfile="+textFile(t, "Balenciaga Triple S super copy")+
		":fontsize=40:fontcolor=white:borderw=3:x=200:y=500"))
	pp := newEngine(t, Options{Size: 1, Lazy: true})
	st := &autoStream{pp: pp}
	line, err := lineAt(context.Background(), pp, img, image.Rect(0, 480, 1280, 560), image.Rect(0, 460, 1280, 580))
	require.NoError(t, err)
	require.False(t, line.Empty())
	cutShort := levelBox(image.Rect(line.Min.X+line.Dx()/4, line.Min.Y-12, line.Max.X-line.Dx()/4, line.Max.Y+12))
	cutShort.coarse = true
	empty := levelBox(image.Rect(100, 100, 300, 140))
	empty.coarse = true
	tilted := Box{q: quad{{100, 200}, {300, 240}, {296, 280}, {96, 240}}}
	boxes := []Box{cutShort, empty, tilted}
	require.NoError(t, st.refine(context.Background(), img, boxes))
	got := boxes[0].bounds()
	t.Logf("line %v, cut short %v, refined %v", line, cutShort.bounds(), got)
	for i, v := range []int{got.Min.X - line.Min.X, got.Min.Y - line.Min.Y, got.Max.X - line.Max.X, got.Max.Y - line.Max.Y} {
		require.LessOrEqual(t, abs(v), 6, "edge %d", i) // the detector's input differs with the strip
	}
	read, err := pp.ReadLines(context.Background(), img, []lines.Crop{boxes[0].Crop(img.Rect)})
	require.NoError(t, err)
	require.Len(t, read, 1)
	require.Equal(t, "BalenciagaTripleSsupercopy", squeeze(read[0].Text))
	require.Equal(t, empty.bounds(), boxes[1].bounds(), "no text there")
	require.False(t, boxes[1].coarse, "looked at once")
	require.Equal(t, tilted.q, boxes[2].q, "tilted boxes are left alone")

	unchanged := []Box{cutShort}
	unchanged[0].coarse = false
	require.NoError(t, st.refine(context.Background(), img, unchanged))
	require.Equal(t, cutShort.bounds(), unchanged[0].bounds(), "a box a scan found at full scale is not refined")
}

// TestAutoKeepsTheWholeLineOverABusyPicture: a caption over the game of
// life, as the eval's busy60-life-caption shows it 25 and 28 s in, where
// earlier frames read as junk (Quick). Tesseract reads the classical line
// without confidence; PP-OCR's detector, over the line's rows, finds only
// its first words ("Rolex GMT super", "Rolex GMT supercop"), and PP-OCR,
// reading just those, would put a more confident part of the line in
// place of the whole. The line read again spans the classical glyphs too.
func TestAutoKeepsTheWholeLineOverABusyPicture(t *testing.T) {
	clip := testutil.Generate(t, clipgen.Clip{Name: "life-rolex", DurationMS: 31000, FPS: 15, Background: "life=mold=10:life_color=0x66ccff:death_color=0x101820",
		Captions: []clipgen.Caption{{Text: "Rolex GMT super copy", StartMS: 24500, EndMS: 31000, Font: "sans-bold", Size: 46, Border: 3}}})
	dir := t.TempDir()
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	letters := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) {
				return r
			}
			return -1
		}, s)
	}
	for _, sec := range []string{"25", "28", "28.067"} {
		png := filepath.Join(dir, sec+".png")
		testutil.FFmpeg(t, "-ss", sec, "-i", clip, "-vf", "extractplanes=y", "-frames:v", "1", png) // the luma, as streamwatch reads it
		img := testutil.LoadGray(t, png)
		var crops []lines.Crop
		for _, b := range lines.Detect(img, lines.DetectOptions{}) {
			crops = append(crops, lines.Crop{Box: b, Text: b, Quick: true})
		}
		got, err := a.ReadLines(context.Background(), img, crops)
		require.NoError(t, err)
		var read []string
		for _, g := range got {
			t.Logf("%s s: %v %q %.0f %s span %v", sec, g.Box, g.Text, g.Confidence, g.Engine, g.Span)
			read = append(read, letters(g.Text))
		}
		require.Contains(t, read, "RolexGMTsupercopy", "%s s", sec)
	}
}

// TestCoarseBoxRefinedOnlyWhenRead: a coarse scan's box of a line that a
// classical box of the frame holds is left as it is (no full-scale
// detection: a caption over a moving picture is found by every scan of it,
// and Tesseract reads it), and refined once no classical box holds it.
func TestCoarseBoxRefinedOnlyWhenRead(t *testing.T) {
	img := testutil.LoadGray(t, frame(t, "[bg]drawtext=fontfile="+sansFont+":textfile="+textFile(t, "Balenciaga Triple S super copy")+
		":fontsize=40:fontcolor=white:borderw=3:x=200:y=500"))
	pp := newEngine(t, Options{Size: 1, Lazy: true})
	line, err := lineAt(context.Background(), pp, img, image.Rect(0, 480, 1280, 560), image.Rect(0, 460, 1280, 580))
	require.NoError(t, err)
	require.False(t, line.Empty())
	st := &autoStream{pp: pp}
	_, err = st.Propose(context.Background(), img, nil) // the stream's first frame: nothing to scan
	require.NoError(t, err)

	coarse := levelBox(line.Inset(-4))
	coarse.coarse = true
	st.boxes = []Box{coarse}
	classical := []lines.Crop{{Box: line, Text: line}}
	out, err := st.Propose(context.Background(), img, classical)
	require.NoError(t, err)
	require.Equal(t, classical, out, "the classical box stands for the line")
	require.Len(t, st.boxes, 1)
	require.True(t, st.boxes[0].coarse, "not refined: nothing is to read it")

	out, err = st.Propose(context.Background(), img, nil)
	require.NoError(t, err)
	require.Len(t, out, 1, "no classical box: the box is read")
	require.False(t, st.boxes[0].coarse, "refined before it is read")
	got := out[0].Box
	for i, v := range []int{got.Min.X - line.Min.X, got.Min.Y - line.Min.Y, got.Max.X - line.Max.X, got.Max.Y - line.Max.Y} {
		require.LessOrEqual(t, abs(v), 6, "edge %d of %v against %v", i, got, line)
	}
}

// junkEngine reads every crop as junk Tesseract doubts, as it reads a busy
// picture's lines.
type junkEngine struct{}

func (junkEngine) Name() string { return "junk" }
func (junkEngine) Size() int    { return 1 }
func (junkEngine) ReadLines(_ context.Context, _ *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	out := make([]lines.Reading, 0, len(crops))
	for _, c := range crops {
		out = append(out, lines.Reading{Box: c.Box, Text: "wr ae", Confidence: 30})
	}
	return out, nil
}

// TestAutoLeavesJunkPlacesToTesseract: a line Tesseract doubts is read
// again by PP-OCR, unless it lies where lines read as junk before (Quick)
// and PP-OCR's detector finds no line across its rows; a Quick line over
// a caption is read again all the same.
func TestAutoLeavesJunkPlacesToTesseract(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.png")
	testutil.FFmpeg(t, "-f", "lavfi", "-i", "cellauto=s=1280x720:rule=110:rate=15,trim=start=3,setpts=PTS-STARTPTS",
		"-vf", "drawtext=fontfile="+sansFont+":textfile="+textFile(t, "Rolex GMT super copy")+
			":fontsize=46:fontcolor=white:borderw=3:x=100:y=600", "-frames:v", "1", out)
	img := testutil.LoadGray(t, out)
	pp := newEngine(t, Options{Size: 1, Lazy: true})
	a := &Auto{Classic: junkEngine{}, PP: pp}
	background := image.Rect(700, 200, 1000, 240) // cells, no text
	caption := image.Rect(90, 592, 620, 658)
	crops := []lines.Crop{
		{Box: background, Text: background, Quick: true},
		{Box: caption, Text: caption, Quick: true},
	}
	got, err := a.ReadLines(context.Background(), img, crops)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "junk", got[0].Engine, "a junk place without a line: Tesseract's reading stays")
	require.Equal(t, "ppocr", got[1].Engine, "the caption, though where lines were junk: %+v", got[1])
	require.Contains(t, got[1].Text, "Rolex")
	require.EqualValues(t, 1, pp.recognised.Load(), "the caption's line only")

	// Not Quick, the same place is read again.
	crops[0].Quick = false
	got, err = a.ReadLines(context.Background(), img, crops[:1])
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.EqualValues(t, 2, pp.recognised.Load(), "a line in doubt elsewhere is read again")
}
