package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// gopClip is 8 s of 320x240 at 25 fps (200 frames) with B-frames and a
// keyframe every gop frames.
func gopClip(t testing.TB, gop string) string {
	return testutil.Clip(t, "gop"+gop+".mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "8",
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-pix_fmt", "yuv420p")
}

// scriptedJudge answers from a list, one answer per keyframe (then same),
// and notes the keyframes it was asked about; and likewise whether a frame
// shows what made a keyframe new (then no).
type scriptedJudge struct {
	answers []KeyframeChange
	asked   []int64
	shows   []bool
	shown   []int64
}

func (j *scriptedJudge) Shows(f Frame) bool {
	j.shown = append(j.shown, f.MediaMS)
	n := len(j.shown) - 1
	return n < len(j.shows) && j.shows[n]
}

func (j *scriptedJudge) Judge(f Frame) KeyframeChange {
	j.asked = append(j.asked, f.MediaMS)
	if n := len(j.asked) - 1; n < len(j.answers) {
		return j.answers[n]
	}
	return KeyframeSame
}

// decodeWith runs clip with opts to the end: the media times handed on and
// the frames decoded.
func decodeWith(t *testing.T, clip string, opts Options) ([]int64, int) {
	t.Helper()
	decoded := prometheus.NewCounter(prometheus.CounterOpts{Name: "decoded", Help: "decoded"})
	opts.FramesDecoded = decoded
	ms := collect(t, openT(t, clip, opts))
	for i := 1; i < len(ms); i++ {
		require.Greater(t, ms[i], ms[i-1], "frames out of order or twice at %d: %v", i, ms)
	}
	return ms, int(promtest.ToFloat64(decoded))
}

func TestDecodeModes(t *testing.T) {
	clip := gopClip(t, "50")
	same := func() *scriptedJudge { return &scriptedJudge{} }
	tests := []struct {
		name        string
		mode        DecodeMode
		judge       *scriptedJudge
		wantHanded  []int64 // nil: every frame
		wantDecoded int
		wantAsked   int
	}{
		{name: "all decodes every frame", mode: DecodeAll, wantDecoded: 200},
		{name: "keyframes decodes keyframes only", mode: DecodeKeyframes, judge: same(),
			wantHanded: []int64{0, 2000, 4000, 6000}, wantDecoded: 4},
		{name: "auto without news decodes keyframes, and the last GOP",
			mode: DecodeAuto, judge: same(), wantAsked: 4},
		{name: "auto decodes the GOP before a new keyframe and the one it opens, to the samples",
			mode: DecodeAuto, judge: &scriptedJudge{answers: []KeyframeChange{KeyframeSame, KeyframeSame, KeyframeNew}}, wantAsked: 4},
		{name: "auto decodes only the GOP before a keyframe that lost something",
			mode: DecodeAuto, judge: &scriptedJudge{answers: []KeyframeChange{KeyframeSame, KeyframeSame, KeyframeGone}}, wantAsked: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Decode: tc.mode}
			if tc.judge != nil {
				opts.Judge = tc.judge
			}
			ms, decoded := decodeWith(t, clip, opts)
			if tc.wantHanded != nil {
				require.Equal(t, tc.wantHanded, ms)
			}
			if tc.wantDecoded != 0 {
				require.Equal(t, tc.wantDecoded, decoded)
			}
			if tc.judge != nil && tc.mode == DecodeAuto {
				require.Len(t, tc.judge.asked, tc.wantAsked)
				require.Equal(t, []int64{0, 2000, 4000, 6000}, tc.judge.asked)
			}
			if tc.mode != DecodeAuto {
				return
			}
			// Each sample slot (a multiple of 1 s) the policy owes has a frame at it.
			has := map[int64]bool{}
			for _, m := range ms {
				has[m] = true
			}
			want := []int64{0, 2000, 4000, 6000, 7000} // keyframes, and the last GOP
			news := tc.judge.answers
			if len(news) > 2 && news[2] != KeyframeSame {
				want = append(want, 3000)
			}
			if len(news) > 2 && news[2] == KeyframeNew {
				want = append(want, 5000)
			} else {
				require.False(t, has[5000], "no frame between 4 s and 6 s is owed: %v", ms)
			}
			for _, w := range want {
				require.True(t, has[w], "no frame at %d ms: %v", w, ms)
			}
			require.Less(t, decoded, 200*3/5, "auto decodes far fewer frames than all")
		})
	}
}

func TestDecodeAutoFallsBackOnLongGOP(t *testing.T) {
	clip := gopClip(t, "125") // a keyframe every 5 s: more than twice the 1 s sample interval
	all, decodedAll := decodeWith(t, clip, Options{Decode: DecodeAll})
	j := &scriptedJudge{}
	auto, decodedAuto := decodeWith(t, clip, Options{Decode: DecodeAuto, Judge: j})
	require.Equal(t, all, auto, "a long GOP is decoded frame by frame, each frame once")
	require.LessOrEqual(t, decodedAuto, decodedAll+1, "the first keyframe decoded twice at most")
	require.Equal(t, []int64{0}, j.asked, "judged until it fell back")

	// Keyframes only stays keyframes only.
	keys, _ := decodeWith(t, clip, Options{Decode: DecodeKeyframes})
	require.Equal(t, []int64{0, 5000}, keys)
}

func TestDecodeModeFlagForm(t *testing.T) {
	for _, m := range []DecodeMode{DecodeAuto, DecodeKeyframes, DecodeAll} {
		var got DecodeMode
		require.NoError(t, got.Set(m.String()))
		require.Equal(t, m, got)
	}
	var m DecodeMode
	require.ErrorIs(t, m.Set("some"), ErrDecodeMode)
	require.Equal(t, DecodeAll, m, "the zero value decodes every frame")
}

// pacedStream serves the MPEG-TS file at path over HTTP at the pace of a
// live stream lasting dur (its bytes spread evenly over that time).
func pacedStream(t *testing.T, path string, dur time.Duration) string {
	t.Helper()
	return pacedStreamEvery(t, path, dur, 10*time.Millisecond)
}

// pacedStreamEvery is pacedStream sending what is due every tick.
func pacedStreamEvery(t *testing.T, path string, dur, every time.Duration) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		start := time.Now()
		const chunk = 188 * 7
		tick := time.NewTicker(every)
		defer tick.Stop()
		sent := 0
		for sent < len(data) {
			due := int(float64(len(data)) * float64(time.Since(start)) / float64(dur))
			if due > sent {
				end := min(max(due, sent+chunk), len(data))
				if _, err := w.Write(data[sent:end]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				sent = end
			}
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/live.ts"
}

func TestLiveSourceSkipsToCatchUpWithItsEdge(t *testing.T) {
	path := testutil.Clip(t, "paced.ts", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "8",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "12", "-f", "mpegts")
	for _, tc := range []struct {
		mode DecodeMode
		// Per frame handed on, on a loaded machine: longer than a frame
		// lasts (40 ms), or in auto, than the keyframes apart (480 ms).
		busy time.Duration
	}{{DecodeAll, 120 * time.Millisecond}, {DecodeAuto, 700 * time.Millisecond}} {
		mode := tc.mode
		t.Run(mode.String(), func(t *testing.T) {
			skipped := prometheus.NewCounter(prometheus.CounterOpts{Name: "skipped", Help: "skipped"})
			src := openT(t, pacedStream(t, path, 8*time.Second), Options{Decode: mode, Judge: &scriptedJudge{},
				SampleInterval: 250 * time.Millisecond, FramesSkipped: skipped})
			require.True(t, src.Info().Live)
			var slow atomic.Bool
			slow.Store(true)
			var ms []int64
			err := src.Run(context.Background(), func(f Frame) error {
				ms = append(ms, f.MediaMS)
				if slow.Load() {
					time.Sleep(tc.busy)
					slow.Store(promtest.ToFloat64(skipped) == 0)
				}
				return nil
			})
			require.NoError(t, err)
			require.Positive(t, promtest.ToFloat64(skipped), "frames skipped to catch up")
			for i := 1; i < len(ms); i++ {
				require.Greater(t, ms[i], ms[i-1])
			}
			require.Greater(t, ms[len(ms)-1], int64(7000), "caught up and went on to the end")
		})
	}
}

// TestLiveSourceNapsAtItsEdge: a live source whose reads wait for input
// lets it gather for edgeNap before reading on, rather than waking for
// each packet: over a stream sent a frame's worth every 40 ms, at most one
// read in each nap waits, and every frame is still handed on, in order,
// with the lag the naps add bounded.
func TestLiveSourceNapsAtItsEdge(t *testing.T) {
	path := testutil.Clip(t, "napped.ts", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts")
	src := openT(t, pacedStreamEvery(t, path, 4*time.Second, 40*time.Millisecond), Options{Decode: DecodeAll})
	require.True(t, src.Info().Live)
	start := time.Now()
	n := 0
	require.NoError(t, src.Run(context.Background(), func(Frame) error {
		n++
		return nil
	}))
	elapsed := time.Since(start)
	require.Equal(t, 100, n, "every frame")
	maxWaits := int(elapsed/edgeNap) + 2
	t.Logf("%d reads of %d waited for input in %v (at most %d)", src.edgeWaits, src.packets.Load(), elapsed, maxWaits)
	require.LessOrEqual(t, src.edgeWaits, maxWaits, "one waiting read per nap, not one per packet")
}

func TestRecordingNeverSkips(t *testing.T) {
	skipped := prometheus.NewCounter(prometheus.CounterOpts{Name: "skipped", Help: "skipped"})
	src := openT(t, gopClip(t, "50"), Options{Decode: DecodeAll, SampleInterval: 100 * time.Millisecond, FramesSkipped: skipped})
	n := 0
	require.NoError(t, src.Run(context.Background(), func(Frame) error {
		n++
		if n < 20 {
			time.Sleep(20 * time.Millisecond) // slower than the frames last
		}
		return nil
	}))
	require.Equal(t, 200, n)
	require.Zero(t, promtest.ToFloat64(skipped))
}
