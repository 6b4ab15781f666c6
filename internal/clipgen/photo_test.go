package clipgen

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePhoto(t *testing.T) {
	tests := []struct {
		name, bg string
		want     photoSpec
		isPhoto  bool
		err      string
	}{
		{"defaults", "photo", photoSpec{seed: 1, pan: 40}, true, ""},
		{"arguments", "photo=seed=7:pan=12", photoSpec{seed: 7, pan: 12}, true, ""},
		{"another source", "testsrc2", photoSpec{}, false, ""},
		{"empty", "", photoSpec{}, false, ""},
		{"unknown argument", "photo=size=3", photoSpec{}, true, `unknown argument "size"`},
		{"not a number", "photo=pan=fast", photoSpec{}, true, "not a whole number"},
		{"negative", "photo=pan=-3", photoSpec{}, true, "not a whole number"},
		{"more filters", "photo,eq=brightness=0.1", photoSpec{}, true, "no further filters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := parsePhoto(tt.bg)
			require.Equal(t, tt.isPhoto, ok)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				_, nerr := normalize(Clip{Name: "p", DurationMS: 1000, Background: tt.bg})
				require.ErrorIs(t, nerr, ErrInvalidClip)
				require.ErrorContains(t, nerr, "photo background")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNormalizeRejectsRate(t *testing.T) {
	for name, c := range map[string]Clip{
		"bitrate":  {BitrateKbps: -1},
		"b_frames": {BFrames: 17},
	} {
		c.Name, c.DurationMS = "c", 1000
		_, err := normalize(c)
		require.ErrorIs(t, err, ErrInvalidClip, name)
		require.ErrorContains(t, err, name)
	}
}

func TestRenderPhotoRepeatable(t *testing.T) {
	a, b, other := renderPhoto(96, 64, 3), renderPhoto(96, 64, 3), renderPhoto(96, 64, 4)
	require.Equal(t, a.Pix, b.Pix, "same seed, same picture")
	require.NotEqual(t, a.Pix, other.Pix, "another seed, another picture")
}

// TestGeneratePhotoLiveEncoding checks what the bench clip relies on: a photo
// background that pans (frame 2 s in is frame 0 moved, not a new picture, and
// not the same), an average bitrate near the one asked, and B-frames.
func TestGeneratePhotoLiveEncoding(t *testing.T) {
	requireFFmpeg(t)
	const w, h = 320, 192
	out := filepath.Join(t.TempDir(), "photo.mp4")
	_, err := Generate(context.Background(), Clip{Name: "photo", Width: w, Height: h, DurationMS: 4000,
		Background: "photo=pan=20", Noise: 6, BitrateKbps: 400, BFrames: 2}, out)
	require.NoError(t, err)

	fout, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
		"frame=pict_type,key_frame:format=bit_rate", "-of", "json", out).Output()
	require.NoError(t, err)
	var pr struct {
		Frames []struct {
			PictType string `json:"pict_type"`
			KeyFrame int    `json:"key_frame"`
		} `json:"frames"`
		Format struct {
			BitRate string `json:"bit_rate"`
		} `json:"format"`
	}
	require.NoError(t, json.Unmarshal(fout, &pr))
	require.Len(t, pr.Frames, 100)
	var types strings.Builder
	for i, f := range pr.Frames {
		types.WriteString(f.PictType)
		require.Equal(t, i%50 == 0, f.KeyFrame == 1, "keyframes every 2 s only, frame %d", i)
	}
	require.Contains(t, types.String(), "BB", "two B-frames in a row")
	require.NotContains(t, types.String(), "BBB", "no more than two")
	rate, err := strconv.Atoi(pr.Format.BitRate)
	require.NoError(t, err)
	require.InDelta(t, 400_000, rate, 150_000, "average bitrate")

	frames := grayFrames(t, out, w, h)
	// x pans by 80·(1−cos(t/4)) ≈ 9.8 px at 2 s, y by 48·(1−cos(t/8)) ≈ 1.5 px.
	still := shiftError(frames[0], frames[50], w, h, 0, 0)
	best, bdx, bdy := still, 0, 0
	for dx := 0; dx <= 16; dx++ {
		for dy := 0; dy <= 4; dy++ {
			if e := shiftError(frames[0], frames[50], w, h, dx, dy); e < best {
				best, bdx, bdy = e, dx, dy
			}
		}
	}
	t.Logf("frame 50 vs 0: mean |diff| %.1f unshifted, %.1f shifted by (%d,%d)", still, best, bdx, bdy)
	require.Greater(t, still, 4.0, "the picture moves")
	require.Less(t, best, still/2, "it moves as a whole: a pan")
	require.InDelta(t, 10, bdx, 2)
}

// shiftError is the mean absolute luma difference between a's pixel (x+dx,
// y+dy) and b's (x, y), over the pixels both have.
func shiftError(a, b []byte, w, h, dx, dy int) float64 {
	sum, n := 0, 0
	for y := 0; y+dy < h; y++ {
		for x := 0; x+dx < w; x++ {
			d := int(a[(y+dy)*w+x+dx]) - int(b[y*w+x])
			sum += max(d, -d)
			n++
		}
	}
	return float64(sum) / float64(n)
}

func TestBenchClip(t *testing.T) {
	c, err := normalize(BenchClip())
	require.NoError(t, err)
	require.Equal(t, [4]int{1280, 720, 25, 2500}, [4]int{c.Width, c.Height, c.FPS, c.BitrateKbps})
	require.Equal(t, 2, c.BFrames)
	require.EqualValues(t, 60_000, c.DurationMS)
	require.Len(t, c.Captions, 1)
	require.EqualValues(t, 25_000, c.Captions[0].StartMS)
	require.EqualValues(t, 40_000, c.Captions[0].EndMS)
	require.True(t, c.Captions[0].Counterfeit)
	_, isPhoto, err := parsePhoto(c.Background)
	require.True(t, isPhoto)
	require.NoError(t, err)
}

// TestGeneratePhotoAtItsRate: a photo background at a rate other than the
// movie source's 25 fps lasts DurationMS (it came out at 25 fps, cut short
// after DurationMS * FPS/25).
func TestGeneratePhotoAtItsRate(t *testing.T) {
	requireFFmpeg(t)
	out := filepath.Join(t.TempDir(), "photo15.mp4")
	_, err := Generate(context.Background(), Clip{Name: "photo15", Width: 320, Height: 192, DurationMS: 2000, FPS: 15,
		Background: "photo"}, out)
	require.NoError(t, err)
	p := probe(t, out)
	require.Equal(t, "15/1", p.Streams[0].FrameRate)
	require.Equal(t, "30", p.Streams[0].NbFrames)
	require.Equal(t, "2.000000", p.Format.Duration)
}
