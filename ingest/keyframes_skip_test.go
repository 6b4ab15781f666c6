package ingest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// pyramidClip is 8 s of 320x240 at 25 fps with a keyframe every 2 s, three
// B-frames between P-frames, the middle one a reference (b-pyramid), and
// P-frames referring to up to three frames before them: skipping every
// B-frame would spoil the P-frames after it.
func pyramidClip(t testing.TB) string {
	return testutil.Clip(t, "pyramid.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "8",
		"-c:v", "libx264", "-preset", "medium", "-bf", "3", "-x264-params", "b-pyramid=normal:ref=3:b-adapt=0",
		"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p")
}

// shot is a frame handed on: its media time and a checksum of its picture.
type shot struct {
	ms  int64
	sum [32]byte
}

// decodeShots runs clip with opts to the end: the frames a 1 s sampler
// takes (the first at or after each whole second), and the frames decoded.
func decodeShots(t *testing.T, clip string, opts Options) ([]shot, int) {
	t.Helper()
	decoded := prometheus.NewCounter(prometheus.CounterOpts{Name: "decoded", Help: "decoded"})
	opts.FramesDecoded = decoded
	var shots []shot
	next := int64(-1)
	err := openT(t, clip, opts).Run(context.Background(), func(f Frame) error {
		if f.MediaMS < next {
			return nil
		}
		next = (f.MediaMS/1000 + 1) * 1000
		b, err := f.AV.Data().Bytes(1)
		if err != nil {
			return err //nolint:wrapcheck // a test
		}
		shots = append(shots, shot{ms: f.MediaMS, sum: sha256.Sum256(b)})
		return nil
	})
	require.NoError(t, err)
	return shots, int(promtest.ToFloat64(decoded))
}

func TestDecodeAutoDiscardsUnsampledFrames(t *testing.T) {
	clip := pyramidClip(t)
	all, _ := decodeShots(t, clip, Options{Decode: DecodeAll})
	require.Len(t, all, 8)
	byMS := map[int64]shot{}
	for _, s := range all {
		byMS[s.ms] = s
	}
	// Keyframes at 0, 2, 4 and 6 s; 4 s is new: the GOP before is decoded
	// to 3 s, the one it opens to 5 s, and the last GOP (6 s to 8 s) to the end.
	judge := &scriptedJudge{answers: []KeyframeChange{KeyframeSame, KeyframeSame, KeyframeNew}}
	auto, decoded := decodeShots(t, clip, Options{Decode: DecodeAuto, Judge: judge})
	var got []int64
	for _, s := range auto {
		got = append(got, s.ms)
		require.Equal(t, byMS[s.ms], s, "the frame sampled at %d ms is the one decoding every frame gives", s.ms)
	}
	require.Equal(t, []int64{0, 2000, 3000, 4000, 5000, 6000, 7000}, got)
	// Decoding every frame of those spans takes 4 keyframes, 25 frames from
	// 2 s to 3 s (and the 2 the decoder holds back), 25 from 4 s to 5 s and
	// the 25 of the last GOP up to its last sample slot, 7 s (those after
	// it are discarded whole): 81. Half of them are B-frames nothing refers
	// to, which no sample slot takes: 52. The whole last GOP would make it
	// 61.
	require.LessOrEqual(t, decoded, 55, "non-reference frames between the sample slots, and the last GOP after its last slot, are not decoded")
}

func TestDecodeAutoSkipsTheNewGOPWhenTheFrameBeforeShowsWhatIsNew(t *testing.T) {
	clip := gopClip(t, "50") // keyframes at 0, 2, 4 and 6 s
	newAt4 := []KeyframeChange{KeyframeSame, KeyframeSame, KeyframeNew}
	tests := []struct {
		name      string
		answers   []KeyframeChange
		shows     bool
		wantShown []int64 // the frames Shows was asked about
		want      []int64 // frames handed on
		wantNot   []int64 // frames not handed on
	}{
		{name: "the frame at 3 s shows it: not the GOP 4 s opens", answers: newAt4, shows: true,
			wantShown: []int64{3000}, want: []int64{3000, 4000}, wantNot: []int64{5000}},
		{name: "the frame at 3 s does not show it: the GOP 4 s opens, to 5 s", answers: newAt4,
			wantShown: []int64{3000}, want: []int64{3000, 4000, 5000}},
		{name: "a keyframe that lost a line asks nothing", answers: []KeyframeChange{KeyframeSame, KeyframeSame, KeyframeGone},
			shows: true, want: []int64{3000, 4000}, wantNot: []int64{5000}},
		{name: "the first keyframe, with nothing before it, asks nothing", answers: []KeyframeChange{KeyframeNew},
			shows: true, want: []int64{0, 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := &scriptedJudge{answers: tc.answers, shows: []bool{tc.shows}}
			ms, _ := decodeWith(t, clip, Options{Decode: DecodeAuto, Judge: j})
			require.Equal(t, tc.wantShown, j.shown)
			has := map[int64]bool{}
			for _, m := range ms {
				has[m] = true
			}
			for _, w := range tc.want {
				require.True(t, has[w], "no frame at %d ms: %v", w, ms)
			}
			for _, w := range tc.wantNot {
				require.False(t, has[w], "a frame at %d ms: %v", w, ms)
			}
		})
	}
}
