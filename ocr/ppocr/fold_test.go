package ppocr

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// nodeOps counts the ops of an encoded model's graph.
func nodeOps(t testing.TB, model []byte) map[string]int {
	t.Helper()
	fs, err := parseFields(model)
	require.NoError(t, err)
	ops := map[string]int{}
	for _, f := range fs {
		if f.num != modelGraph {
			continue
		}
		gs, err := parseFields(f.val)
		require.NoError(t, err)
		for _, g := range gs {
			if g.num == graphNode {
				n, err := parseNode(g.val)
				require.NoError(t, err)
				ops[n.op]++
			}
		}
	}
	return ops
}

// TestFoldRewritesTheModels: on the installed PP-OCRv4 models, fold takes
// out every hard-swish's Clip and Div and most scalar multiplies and adds.
func TestFoldRewritesTheModels(t *testing.T) {
	for _, file := range []string{DetectorFile, RecognizerFile} {
		t.Run(file, func(t *testing.T) {
			model, err := os.ReadFile(filepath.Join(testDir(), file))
			require.NoError(t, err, "PP-OCR files: run make ppocr-files (or set PPOCR_DIR)")
			out, stats, err := fold(model)
			require.NoError(t, err)
			before, after := nodeOps(t, model), nodeOps(t, out)
			t.Logf("%+v; ops before %v, after %v", stats, before, after)
			require.Positive(t, stats.IntoConv)
			require.Positive(t, stats.HardSwish)
			require.Positive(t, stats.IntoNext+stats.Depthwise)
			require.Zero(t, after["Clip"], "every hard-swish")
			require.Zero(t, after["Div"]-before["Div"]+stats.HardSwish, "a Div less per hard-swish")
			require.Equal(t, before["HardSigmoid"]+stats.HardSwish, after["HardSigmoid"])
			require.Less(t, after["Mul"]+after["Add"], before["Mul"]+before["Add"]-2*stats.IntoConv)

			again, more, err := fold(out)
			require.NoError(t, err)
			require.Equal(t, foldStats{}, more, "nothing left to fold")
			require.Equal(t, after, nodeOps(t, again))
		})
	}
}

// TestFoldKeepsTheReadings: the engine on the folded models finds the same
// boxes, with the same scores, and reads the same text with the same
// confidence as on the models as they are, on frames of each kind the
// engine is for.
func TestFoldKeepsTheReadings(t *testing.T) {
	folded := newEngine(t, Options{Size: 1, CacheDir: "-"})
	plain := newEngine(t, Options{Size: 1, CacheDir: "-", unfolded: true})
	frames := map[string]string{
		"caption": "[bg]drawtext=fontfile=" + cjkFont + ":textfile=" + textFile(t, "GUCCI 古驰 高仿包 1:1 replica") +
			":fontsize=44:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h-140",
		"rotated": "color=c=black@0:size=900x200,format=rgba,drawtext=fontfile=" + sansFont + ":textfile=" + textFile(t, "ROLEX super copy") +
			":fontsize=56:fontcolor=yellow:borderw=2:x=(w-tw)/2:y=(h-th)/2,rotate=-15*PI/180:c=none:ow=rotw(15*PI/180):oh=roth(15*PI/180)[t];[bg][t]overlay=150:200",
		"vertical": "[bg]drawtext=fontfile=" + cjkFont + ":textfile=" + textFile(t, "古\n驰\n高\n仿") +
			":fontsize=48:fontcolor=white:line_spacing=4:box=1:boxcolor=0x802020@0.8:boxborderw=10:x=1100:y=120",
		"small": "[bg]drawtext=fontfile=" + sansFont + ":textfile=" + textFile(t, "LV wallet AAA quality, DM me") +
			":fontsize=20:fontcolor=white:shadowx=1:shadowy=1:x=40:y=600",
	}
	ctx := context.Background()
	for name, filter := range frames {
		t.Run(name, func(t *testing.T) {
			img := testutil.LoadGray(t, frame(t, filter))
			want, err := plain.Detect(ctx, img, img.Bounds(), 0)
			require.NoError(t, err)
			got, err := folded.Detect(ctx, img, img.Bounds(), 0)
			require.NoError(t, err)
			require.NotEmpty(t, want)
			require.Len(t, got, len(want))
			for i := range want {
				require.Equal(t, want[i].Quad, got[i].Quad, "box %d", i)
				require.InDelta(t, want[i].Score, got[i].Score, 1e-4, "box %d", i)
			}
			crops, err := plain.Propose(ctx, img, nil)
			require.NoError(t, err)
			wantRead, err := plain.ReadLines(ctx, img, crops)
			require.NoError(t, err)
			gotRead, err := folded.ReadLines(ctx, img, crops)
			require.NoError(t, err)
			require.Len(t, gotRead, len(wantRead))
			for i := range wantRead {
				t.Logf("%q %.2f / %q %.2f", wantRead[i].Text, wantRead[i].Confidence, gotRead[i].Text, gotRead[i].Confidence)
				require.Equal(t, wantRead[i].Text, gotRead[i].Text)
				require.InDelta(t, wantRead[i].Confidence, gotRead[i].Confidence, 0.01)
			}
		})
	}
}

// TestFoldLeavesOtherInputAlone: what is not a model comes back as it was,
// with an error; a model without the patterns comes back unchanged.
func TestFoldLeavesOtherInputAlone(t *testing.T) {
	bad := []byte("not a model")
	out, stats, err := fold(bad)
	require.Error(t, err)
	require.Equal(t, bad, out)
	require.Equal(t, foldStats{}, stats)

	// A graph of one Relu.
	relu := newNode("Relu", []string{"x"}, []string{"y"})
	var g, m []byte
	g = protowire.AppendTag(g, graphNode, protowire.BytesType)
	g = protowire.AppendBytes(g, relu.encode())
	m = protowire.AppendTag(m, modelGraph, protowire.BytesType)
	m = protowire.AppendBytes(m, g)
	out, stats, err = fold(m)
	require.NoError(t, err)
	require.Equal(t, m, out)
	require.Equal(t, foldStats{}, stats)
}

// FuzzFold: fold never panics; what it returns without an error parses
// again, to the same graph when folded once more.
func FuzzFold(f *testing.F) {
	if model, err := os.ReadFile(filepath.Join(testDir(), DetectorFile)); err == nil {
		f.Add(model[:min(len(model), 4096)])
	}
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := fold(b)
		if err != nil {
			require.Equal(t, b, out)
			return
		}
		_, err = parseFields(out)
		require.NoError(t, err)
	})
}

func BenchmarkFold(b *testing.B) {
	model, err := os.ReadFile(filepath.Join(testDir(), RecognizerFile))
	require.NoError(b, err)
	for b.Loop() {
		_, _, err := fold(model)
		require.NoError(b, err)
	}
}

// TestFoldAnEmptyConv: a 1×1 Conv with no output channels after a scalar
// affine block is left as it is (no division by its zero channels).
func TestFoldAnEmptyConv(t *testing.T) {
	scalarInit := func(name string, v float32) []byte {
		return tensor{dims: []int64{1}, data: []float32{v}}.encode(name)
	}
	var g, m []byte
	for _, n := range []*node{
		newNode("Mul", []string{"x", "s"}, []string{"m"}),
		newNode("Add", []string{"m", "b"}, []string{"y"}),
		newNode("Conv", []string{"y", "w"}, []string{"z"}),
	} {
		g = protowire.AppendTag(g, graphNode, protowire.BytesType)
		g = protowire.AppendBytes(g, n.encode())
	}
	for _, init := range [][]byte{scalarInit("s", 2), scalarInit("b", 1), tensor{dims: []int64{0, 4, 1, 1}}.encode("w")} {
		g = protowire.AppendTag(g, graphInitializer, protowire.BytesType)
		g = protowire.AppendBytes(g, init)
	}
	m = protowire.AppendTag(m, modelGraph, protowire.BytesType)
	m = protowire.AppendBytes(m, g)
	out, stats, err := fold(m)
	require.NoError(t, err)
	require.Zero(t, stats.IntoNext)
	require.Equal(t, 1, stats.Depthwise, "the affine block becomes a depthwise conv of the 4 input channels")
	require.Equal(t, map[string]int{"Conv": 2}, nodeOps(t, out))
}
