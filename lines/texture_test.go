package lines

import (
	"context"
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTextureReadsJunkPlacesQuickly files reads of one place frame after
// frame and checks which of the frames started read it quickly: from the
// frame lagFrames after the first junk read, but never more than maxQuick
// frames in a row, and not once a read there was text (until junk again).
func TestTextureReadsJunkPlacesQuickly(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 720, 1280))
	box := image.Rect(100, 600, 400, 650)
	far := image.Rect(100, 100, 400, 150)
	junkRead := []Line{{Text: "ae ~~ y", Confidence: 43}}
	textRead := []Line{{Text: "GUCCI replica", Confidence: 91}}
	tests := []struct {
		name  string
		reads [][]Line // what each frame read at box
		quick []bool   // whether each frame read box quickly
	}{
		{"junk every time", [][]Line{junkRead, junkRead, junkRead, junkRead, junkRead, junkRead, junkRead},
			[]bool{false, false, true, true, false, true, true}},
		{"nothing read counts as junk", [][]Line{nil, nil, nil}, []bool{false, false, true}},
		{"text clears the place", [][]Line{junkRead, junkRead, textRead, junkRead, junkRead, junkRead},
			[]bool{false, false, true, true, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tex texture
			var got []bool
			for _, ls := range tc.reads {
				f, err := tex.start(context.Background(), img)
				require.NoError(t, err)
				require.False(t, tex.choose(far, false), "a place never read is read fully")
				e := &entry{crop: Crop{Box: box, Quick: tex.choose(box, false)}, lines: ls}
				got = append(got, e.crop.Quick)
				f.file([]*entry{e}, true)
			}
			require.Equal(t, tc.quick, got)
		})
	}
}

// TestTextureWaitsForLaggedFrames checks that a frame is not started before
// the reads of the frame lagFrames before it are filed, so that what is read
// quickly depends on the frames alone, not on how fast reads come back.
func TestTextureWaitsForLaggedFrames(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 640, 360))
	var tex texture
	first, err := tex.start(context.Background(), img)
	require.NoError(t, err)
	_, err = tex.start(context.Background(), img)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tex.start(ctx, img)
	require.ErrorIs(t, err, context.Canceled, "the first frame's reads are not filed yet")
	first.file(nil, false)
	_, err = tex.start(context.Background(), img)
	require.NoError(t, err)
}

// TestTextureReadsABusyStreamQuickly files junk reads at ever other places,
// as a sparse texture's lines come: once most of the stream's last reads
// were junk, a line at a place never read is read quickly too, but not a
// retry (a line read quickly in the frame before, still there); a lone
// letter read confidently is junk too.
func TestTextureReadsABusyStreamQuickly(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 720, 1280))
	far := image.Rect(400, 1100, 700, 1150)
	tests := []struct {
		name string
		read []Line
		busy bool
	}{
		{"junk", []Line{{Text: "ae ~~ y", Confidence: 43}}, true},
		{"a lone letter", []Line{{Text: "a", Confidence: 92}}, true},
		{"text", []Line{{Text: "GUCCI replica", Confidence: 91}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tex texture
			for i := range recentReads + lagFrames {
				f, err := tex.start(context.Background(), img)
				require.NoError(t, err)
				box := image.Rect(0, 100*i, 200, 100*i+40) // a new place each frame
				f.file([]*entry{{crop: Crop{Box: box}, lines: tc.read}}, true)
			}
			require.Equal(t, tc.busy, tex.choose(far, false), "a place never read")
			require.False(t, tex.choose(far, true), "a retry")
		})
	}
}
