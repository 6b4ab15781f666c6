package ppocr

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// BenchmarkDetect is one frame (1280x720) through the detector at the
// engine's default scale and at auto's.
func BenchmarkDetect(b *testing.B) {
	e, err := New(Options{Dir: testDir(), Size: 1})
	require.NoError(b, err)
	defer func() { require.NoError(b, e.Close()) }()
	img := testutil.LoadGray(b, benchFrame(b))
	for _, long := range []int{defaultDetLen, autoScanLongSide, autoScanLeast} {
		b.Run(strconv.Itoa(long), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := e.Detect(context.Background(), img, img.Rect, long)
				require.NoError(b, err)
			}
		})
	}
}

// BenchmarkRecognize is one caption line through the recogniser.
func BenchmarkRecognize(b *testing.B) {
	e, err := New(Options{Dir: testDir(), Size: 1})
	require.NoError(b, err)
	defer func() { require.NoError(b, e.Close()) }()
	img := testutil.LoadGray(b, benchFrame(b))
	crops, err := e.Propose(context.Background(), img, nil)
	require.NoError(b, err)
	require.NotEmpty(b, crops)
	best := crops[0]
	for _, c := range crops {
		if c.Box.Dx() > best.Box.Dx() {
			best = c
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_, err := e.ReadLines(context.Background(), img, crops[:0:0])
		require.NoError(b, err)
		_, err = e.ReadLines(context.Background(), img, append(crops[:0:0], best))
		require.NoError(b, err)
	}
}
