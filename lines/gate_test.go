package lines

import (
	"context"
	"image"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// caption draws a fake line of "glyphs": dark bars on a light box at r, with
// a pattern chosen by seed.
func caption(img *image.Gray, r image.Rectangle, seed int) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(230)
			if y > r.Min.Y+3 && y < r.Max.Y-3 && ((x-r.Min.X)/(3+seed%4))%2 == 0 {
				v = 20
			}
			img.Pix[img.PixOffset(x, y)] = v
		}
	}
}

func frame(noise uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 100 + uint8(i*7%13)*noise
	}
	return img
}

// crops are lines found with boxes rs.
func crops(rs ...image.Rectangle) []Crop {
	out := make([]Crop, len(rs))
	for i, r := range rs {
		out[i] = Crop{Text: r, Box: r}
	}
	return out
}

// checkBoxes is g.check with the boxes of the lines to read beside their
// entries.
func checkBoxes(ctx context.Context, g *gate, img *image.Gray, cs []Crop) (reused []*entry, toRead []image.Rectangle, fresh []*entry) {
	reused, fresh = g.check(ctx, img, cs, image.Point{})
	for _, e := range fresh {
		toRead = append(toRead, e.crop.Box)
	}
	return reused, toRead, fresh
}

func TestGate(t *testing.T) {
	box := image.Rect(40, 100, 280, 130)
	var g gate
	ctx := context.Background()

	f1 := frame(1)
	caption(f1, box, 0)
	reused, toRead, fresh := checkBoxes(ctx, &g, f1, crops(box))
	require.Empty(t, reused)
	require.Equal(t, []image.Rectangle{box}, toRead)
	require.Len(t, fresh, 1)
	fresh[0].lines = []Line{{Text: "GUCCI bag 1:1 replica"}}
	fresh[0].settle()

	// The same caption over a changed background, found with a box off by a
	// few pixels: reused.
	f2 := frame(2)
	caption(f2, box, 0)
	reused, toRead, _ = checkBoxes(ctx, &g, f2, crops(box.Add(image.Pt(2, 1))))
	require.Empty(t, toRead)
	require.Len(t, reused, 1)
	require.Equal(t, "GUCCI bag 1:1 replica", reused[0].lines[0].Text)

	// Other text in the same place: read again.
	f3 := frame(1)
	caption(f3, box, 1)
	reused, toRead, fresh = checkBoxes(ctx, &g, f3, crops(box))
	require.Empty(t, reused)
	require.Equal(t, []image.Rectangle{box}, toRead)
	require.Nil(t, fresh[0].lines)

	// A caption that went away is forgotten: when it comes back it is read.
	_, toRead, _ = checkBoxes(ctx, &g, frame(1), nil)
	require.Empty(t, toRead)
	require.Empty(t, g.entries)
	reused, toRead, _ = checkBoxes(ctx, &g, f3, crops(box))
	require.Empty(t, reused)
	require.Len(t, toRead, 1)

	// The same text moved elsewhere (a marquee): read again.
	f4 := frame(1)
	caption(f4, box.Add(image.Pt(0, 60)), 1)
	reused, toRead, _ = checkBoxes(ctx, &g, f4, crops(box.Add(image.Pt(0, 60))))
	require.Empty(t, reused)
	require.Len(t, toRead, 1)
}

// TestGateForget: a doubtful reading is not reused while the line stays
// unchanged; the line is read again, and the gate counts the reads.
func TestGateForget(t *testing.T) {
	box := image.Rect(40, 100, 280, 130)
	var g gate
	ctx := context.Background()
	f := frame(1)
	caption(f, box, 0)
	_, toRead, fresh := checkBoxes(ctx, &g, f, crops(box))
	require.Len(t, toRead, 1)
	require.Equal(t, 1, fresh[0].reads)
	fresh[0].lines = []Line{{Text: "GUCCl bag 1:1 repIica"}}
	fresh[0].forget()
	fresh[0].settle()

	reused, toRead, fresh := checkBoxes(ctx, &g, f, crops(box))
	require.Empty(t, reused)
	require.Len(t, toRead, 1)
	require.Equal(t, 2, fresh[0].reads)
	fresh[0].lines = []Line{{Text: "GUCCI bag 1:1 replica"}}
	fresh[0].settle()

	reused, toRead, _ = checkBoxes(ctx, &g, f, crops(box))
	require.Empty(t, toRead)
	require.Len(t, reused, 1)
	require.Equal(t, "GUCCI bag 1:1 replica", reused[0].lines[0].Text)
}

// TestGateWaitsForPendingRead: a later frame checked while the line's read
// is still out (a replay decodes faster than OCR reads) waits for it to
// settle, so that a doubtful reading is retried rather than reused; if ctx
// ends first, the line is read again.
func TestGateWaitsForPendingRead(t *testing.T) {
	box := image.Rect(40, 100, 280, 130)
	var g gate
	ctx := context.Background()
	f := frame(1)
	caption(f, box, 0)
	_, _, fresh := checkBoxes(ctx, &g, f, crops(box))
	pending := fresh[0]
	var settled atomic.Bool
	go func() {
		time.Sleep(50 * time.Millisecond) // let the check below start waiting
		pending.lines = []Line{{Text: "GUCCl bag 1:1 repIica"}}
		pending.forget()
		settled.Store(true)
		pending.settle()
	}()
	reused, toRead, fresh := checkBoxes(ctx, &g, f, crops(box))
	require.True(t, settled.Load(), "waited for the read")
	require.Empty(t, reused)
	require.Len(t, toRead, 1, "the doubtful reading is not reused")
	require.Equal(t, 2, fresh[0].reads)

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	reused, toRead, _ = checkBoxes(cctx, &g, f, crops(box))
	require.Empty(t, reused)
	require.Len(t, toRead, 1, "never settled: read again")
}

// translucent draws light "glyphs" (bars of the pattern seed) on a
// translucent dark box at r over a textured background shifted by shift
// pixels: a caption over a panned photograph.
func translucent(img *image.Gray, r image.Rectangle, seed, shift int) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			photo := ((x+shift)*37 + y*91 + (x+shift)*y*13) % 256 // busy texture, moving
			v := uint8(60 + photo/2)
			if y > r.Min.Y+3 && y < r.Max.Y-3 && ((x-r.Min.X)/(3+seed%4))%2 == 0 {
				v = 240
			}
			img.Pix[img.PixOffset(x, y)] = v
		}
	}
}

// TestGateReusesCaptionOverMovingBackground: a caption on a translucent box,
// the background moving under it, is the same line from frame to frame (its
// box pixels cross the change threshold, but by little); other text in the
// box is not.
func TestGateReusesCaptionOverMovingBackground(t *testing.T) {
	box := image.Rect(40, 100, 280, 130)
	var g gate
	ctx := context.Background()
	f1 := frame(1)
	translucent(f1, box, 0, 0)
	_, toRead, fresh := checkBoxes(ctx, &g, f1, crops(box))
	require.Len(t, toRead, 1)
	fresh[0].lines = []Line{{Text: "GUCCI bag 1:1 replica"}}
	fresh[0].settle()

	for shift := 7; shift < 70; shift += 7 {
		f := frame(1)
		translucent(f, box, 0, shift)
		reused, toRead, _ := checkBoxes(ctx, &g, f, crops(box))
		require.Empty(t, toRead, "background shifted by %d px", shift)
		require.Len(t, reused, 1)
	}

	f := frame(1)
	translucent(f, box, 1, 0)
	reused, toRead, _ := checkBoxes(ctx, &g, f, crops(box))
	require.Empty(t, reused, "other text on the box")
	require.Len(t, toRead, 1)
}

// scene is a textured picture (a photograph) moved by shift, with a line of
// dark "glyphs" in it at r (also moved): text in the scene, not an overlay.
func scene(shift image.Point, r image.Rectangle) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			sx, sy := x-shift.X, y-shift.Y
			img.Pix[img.PixOffset(x, y)] = uint8(90 + (sx*sx/7+sy*13+sx*sy/5)%90)
		}
	}
	caption(img, r.Add(shift), 0)
	return img
}

// TestGateReusesLinesMovingWithThePicture: when the whole picture moves (a
// pan), a line that moved with it is not read again, even with a doubtful
// reading; an overlay that stayed is still found where it was, and the
// same move with other pixels is read.
func TestGateReusesLinesMovingWithThePicture(t *testing.T) {
	line := image.Rect(60, 80, 220, 104)
	var g gate
	ctx := context.Background()
	_, toRead, fresh := checkBoxes(ctx, &g, scene(image.Point{}, line), crops(line))
	require.Len(t, toRead, 1)
	fresh[0].lines = []Line{{Box: line, Text: "GUCCl", Confidence: 40}}
	fresh[0].forget() // doubtful
	fresh[0].settle()

	for _, move := range []image.Point{{12, -5}, {25, -9}, {40, -12}} {
		img := scene(move, line)
		moved := line.Add(move)
		reused, fresh := g.check(ctx, img, crops(moved), move.Sub(g.entries[0].crop.Box.Min.Sub(line.Min)))
		require.Empty(t, fresh, "moved by %v", move)
		require.Len(t, reused, 1)
		require.Equal(t, "GUCCl", reused[0].lines[0].Text)
		require.Equal(t, moved, reused[0].lines[0].Box, "the reading's box moves with the line")
	}

	// The picture moved, the line's pixels are other ones: read.
	img := scene(image.Pt(50, -14), line)
	caption(img, line.Add(image.Pt(50, -14)), 1)
	_, fresh = g.check(ctx, img, crops(line.Add(image.Pt(50, -14))), image.Pt(10, -2))
	require.Len(t, fresh, 1)
}

// outlined draws light "glyphs" (bars of the pattern seed) with a dark
// outline and no box at r, over a texture that churns with each value of
// churn: a bordered caption over a cellular automaton.
func outlined(img *image.Gray, r image.Rectangle, seed, churn int) {
	w := 3 + seed%4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(20 + (x*7919+y*104729+churn*15485863)%7*30) // 20..200
			inY := y > r.Min.Y+3 && y < r.Max.Y-3
			bar := ((x - r.Min.X) / w) % 2
			edge := (x-r.Min.X)%w == 0 || (x-r.Min.X)%w == w-1
			switch {
			case inY && bar == 0 && edge, y == r.Min.Y+3 || y == r.Max.Y-3:
				v = 0
			case inY && bar == 0:
				v = 255
			}
			img.Pix[img.PixOffset(x, y)] = v
		}
	}
}

// TestGateReusesSureCaptionOverChurningTexture: a caption read well, its
// glyphs unchanged while the texture between and around them churns, is
// the same line; a doubtful reading of it is not reused so, and neither is
// other text in its place.
func TestGateReusesSureCaptionOverChurningTexture(t *testing.T) {
	box := image.Rect(40, 100, 280, 130)
	tests := []struct {
		name       string
		confidence float64
		reused     bool
	}{
		{"read well", 96, true},
		{"doubtful", 50, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g gate
			ctx := context.Background()
			f1 := frame(1)
			outlined(f1, box, 0, 0)
			_, _, fresh := checkBoxes(ctx, &g, f1, crops(box))
			require.Len(t, fresh, 1)
			fresh[0].lines = []Line{{Text: "Rolex GMT super copy", Confidence: tc.confidence}}
			fresh[0].settle()
			for churn := 1; churn < 6; churn++ {
				f := frame(1)
				outlined(f, box, 0, churn)
				require.Greater(t, g.entries[0].changed(f), 0.02, "the texture churns")
				reused, toRead, fresh := checkBoxes(ctx, &g, f, crops(box))
				if !tc.reused {
					require.Len(t, toRead, 1, "frame %d", churn)
					fresh[0].lines = []Line{{Text: "Rolex GMT super copy", Confidence: tc.confidence}}
					fresh[0].settle()
					continue
				}
				require.Empty(t, toRead, "frame %d", churn)
				require.Len(t, reused, 1)
			}
			f := frame(1)
			outlined(f, box, 1, 9)
			reused, toRead, _ := checkBoxes(ctx, &g, f, crops(box))
			require.Empty(t, reused, "other text in its place")
			require.Len(t, toRead, 1)
		})
	}
}
