package ppocr

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/ocr"
)

// pannedFrames returns the frames, one a second, of an 8-s clip of
// clipgen's photograph panned at up to 120 px/s, with a tilted sign that
// is part of the picture (it moves with it, from the start) and a tilted
// sticker laid over the picture from 4 s on (it stays where it is).
func pannedFrames(t *testing.T) []*image.Gray {
	t.Helper()
	dir := t.TempDir()
	clip := filepath.Join(dir, "pan.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// photo pans as x = ax(1-cos(wx t)), y = ay(1-cos(wx t/2)), with ax a
	// quarter of the width, ay of the height, wx = pan/ax (photoChain):
	// what the picture holds at P is on screen at P minus that.
	const pan, ax, ay = 120, 320.0, 180.0
	wx := pan / ax
	_, err := clipgen.Generate(ctx, clipgen.Clip{Name: "pan", Width: 1280, Height: 720, DurationMS: 8000, FPS: 10,
		Background: "photo=seed=3:pan=" + strconv.Itoa(pan),
		Captions: []clipgen.Caption{
			{Text: "古驰 高仿包", StartMS: 0, EndMS: 8000, Size: 56, Box: "0x2050c0@0.9", Angle: 12,
				X: fmt.Sprintf("880-%.0f*(1-cos(%.5f*t))", ax, wx), Y: fmt.Sprintf("260-%.0f*(1-cos(%.5f*t))", ay, wx/2)},
			{Text: "巴黎世家 老爹鞋", StartMS: 4000, EndMS: 8000, Size: 56, Box: "0xc02060@0.9", Angle: -14, X: "W/3", Y: "H*3/4"},
		}}, clip)
	require.NoError(t, err)
	var out []*image.Gray
	for sec := range 8 {
		png := filepath.Join(dir, strconv.Itoa(sec)+".png")
		testutil.FFmpeg(t, "-ss", strconv.Itoa(sec)+".05", "-i", clip, "-frames:v", "1", png)
		out = append(out, testutil.LoadGray(t, png))
	}
	return out
}

// unfollowed is an autoStream that is not told how the picture moved.
type unfollowed struct{ s *autoStream }

func (u unfollowed) Propose(ctx context.Context, img *image.Gray, found []lines.Crop) ([]lines.Crop, error) {
	return u.s.Propose(ctx, img, found)
}
func (u unfollowed) Observe(crops []lines.Crop, read []lines.Reading) { u.s.Observe(crops, read) }

// TestAutoFollowsAPan: over a panning picture, what moved with the
// picture is not scanned again: the sign in it keeps its box, which moves
// along (read once, then reused as the picture carries it), and the scan
// looks at what the pan brings in at the edges and at the sticker that
// appears, four fifths or less of what it looks at when it is not told of the
// pan (which the budget caps at a frame every autoCadence frames), for
// the same readings.
func TestAutoFollowsAPan(t *testing.T) {
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, pool.Close()) }()
	a := &Auto{Classic: pool, PP: newEngine(t, Options{Size: 1, Lazy: true})}
	frames := pannedFrames(t)
	const sign, sticker = "古驰高仿包", "巴黎世家老爹鞋"
	run := func(follow bool) (scanned float64) {
		st, ok := a.Stream().(*autoStream)
		require.True(t, ok)
		var p lines.Proposer = st
		if !follow {
			p = unfollowed{st}
		}
		r, err := lines.NewReader(lines.Options{Engine: a, Propose: p})
		require.NoError(t, err)
		defer r.Close()
		for i, img := range frames {
			got := readFrame(t, r, img)
			if i >= 1 {
				require.Contains(t, got, sign, "follow=%v frame %d: %v", follow, i, got)
			}
			if i >= 5 {
				require.Contains(t, got, sticker, "follow=%v frame %d: %v", follow, i, got)
			}
			if follow && i >= 2 && i != 4 {
				require.True(t, got[sign].Reused, "frame %d: the sign's box moved with the picture, its reading with it", i)
			}
		}
		t.Logf("follow=%v: %d scans, %.2f frames' worth", follow, st.scans, st.scanned)
		return st.scanned
	}
	followed, not := run(true), run(false)
	require.Less(t, 5*followed, 4*not, "the pan followed: four fifths of the scanning or less")
}

// TestCoverSplitsWhatIsApart: the strips a diagonal pan brings in along
// two edges are two regions, not the frame around them; changes strewn
// over one part of the frame are one region there; more groups than
// coverMost are merged where that adds the least area.
func TestCoverSplitsWhatIsApart(t *testing.T) {
	const tw, th = 80, 45
	mask := func(cells ...image.Rectangle) []bool {
		m := make([]bool, tw*th)
		for _, r := range cells {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					m[y*tw+x] = true
				}
			}
		}
		return m
	}
	strips := cover(mask(image.Rect(74, 0, 80, 45), image.Rect(0, 43, 80, 45)), tw, th)
	require.Len(t, strips, 2, "%v", strips)
	require.Equal(t, 6*45+74*2, strips[0].Dx()*strips[0].Dy()+strips[1].Dx()*strips[1].Dy(), "%v: the two strips, no more", strips)
	var strewn []image.Rectangle
	for i := range 12 {
		strewn = append(strewn, image.Rect(10+i%4*2, 5+i/4*2, 11+i%4*2, 6+i/4*2))
	}
	require.Equal(t, []image.Rectangle{image.Rect(10, 5, 17, 10)}, cover(mask(strewn...), tw, th))
	var apart []image.Rectangle
	for i := range coverMost + 2 {
		apart = append(apart, image.Rect(i*7, i%2*30, i*7+2, i%2*30+2))
	}
	got := cover(mask(apart...), tw, th)
	require.Len(t, got, coverMost)
	for _, r := range apart {
		require.True(t, slices.ContainsFunc(got, func(g image.Rectangle) bool { return r.In(g) }), "%v held", r)
	}
}

// TestFreshSortsAPan: a picture moved by a shift that is not a multiple
// of the table's blocks: what moved with it is not fresh, what came in at
// the edge entered, a patch drawn over it is fresh; a shift that explains
// nothing is not taken.
func TestFreshSortsAPan(t *testing.T) {
	big := textured(image.Rect(0, 0, 1400, 800))
	at := func(x, y int) *image.Gray { return big.SubImage(image.Rect(x, y, x+640, y+368)).(*image.Gray) }
	prev, cur := at(60, 40), at(90, 47) // the camera moved right and down: the picture by (-30, -7)
	copyGray := func(src *image.Gray) *image.Gray {
		out := image.NewGray(image.Rect(0, 0, 640, 368))
		for y := range 368 {
			copy(out.Pix[y*out.Stride:][:640], src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:640])
		}
		return out
	}
	a, b := copyGray(prev), copyGray(cur)
	for y := 160; y < 224; y++ { // a patch over the picture
		for x := 96; x < 224; x++ {
			b.Pix[y*b.Stride+x] = 250
		}
	}
	var tab moveTable
	tab.fill(a)
	ta, tw, th := summary(a)
	tb, _, _ := summary(b)
	changed := changedCells(ta, tb)
	require.NotNil(t, changed)
	fresh, entered, moved := tab.fresh(tb, tw, th, image.Pt(-30, -7), changed)
	require.True(t, moved)
	for i := range changed {
		x, y := i%tw*thumbCell, i/tw*thumbCell
		switch {
		case x >= 96 && x < 224 && y >= 160 && y < 224:
			require.True(t, fresh[i], "cell at %d,%d is the patch", x, y)
		case x+thumbCell > 640-30 || y+thumbCell > 368-7:
			require.False(t, fresh != nil && fresh[i], "cell at %d,%d came in at the edge", x, y)
			require.True(t, !changed[i] || entered[i], "cell at %d,%d came in at the edge", x, y)
		case x < 80 || x >= 240 || y < 144 || y >= 240: // away from the patch
			require.False(t, fresh != nil && fresh[i], "cell at %d,%d moved with the picture", x, y)
			require.False(t, entered != nil && entered[i], "cell at %d,%d", x, y)
		}
	}
	_, _, moved = tab.fresh(tb, tw, th, image.Pt(90, -60), changed)
	require.False(t, moved, "a shift the picture did not make")
}

// textured is a picture of r with shapes at several scales, values from a
// hash of the position (a photograph's kind of detail).
func textured(r image.Rectangle) *image.Gray {
	img := image.NewGray(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			band := (uint32(x)/37*2654435761)>>26 + (uint32(y)/29*2246822519)>>26
			detail := ((uint32(x)/6)*2654435761 ^ (uint32(y)/6)*2246822519) >> 27
			img.Pix[img.PixOffset(x, y)] = uint8(band + detail + 40)
		}
	}
	return img
}
