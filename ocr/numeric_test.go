package ocr

import (
	"fmt"
	"image"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/lines"
)

func TestNumeric(t *testing.T) {
	for _, s := range []string{"00:00:12 .000", "¥1,299", "12,480", "00:00:31 .G00"} {
		require.True(t, numeric(s), s)
	}
	for _, s := range []string{"1:1", "100%", "LV 1:1", "1:1 replica", "AAA 888", "GUCCI 2024", "高仿 1:1", "Chane1 No5", ""} {
		require.False(t, numeric(s), s)
	}
}

// TestClockReadOnce reads the clock testsrc2 draws in its top-left corner
// (14 px tall, read at 30-80): a doubtful reading of digits is kept as it
// is, without the Chinese read and the other renderings, which cost three
// times the first read and read digits again.
func TestClockReadOnce(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	n := countLines(w)
	for _, frame := range []int{60, 180, 195, 705} {
		t.Run(fmt.Sprint(frame), func(t *testing.T) {
			img := renderFrame(t, fmt.Sprintf("testsrc2=size=1280x720:rate=15,trim=start_frame=%d", frame))
			var clock image.Rectangle
			for _, r := range lines.Detect(img, lines.DetectOptions{}) {
				if r.Max.Y < 30 && r.Min.X < 20 {
					clock = r
				}
			}
			require.False(t, clock.Empty(), "the clock is not detected")
			n.reset()
			got, err := w.read(img, []image.Rectangle{clock}, nil)
			require.NoError(t, err)
			require.Len(t, got, 1)
			t.Logf("%q at %.0f: %d English reads, %d Chinese", got[0].Text, got[0].Confidence, n.eng.lines, n.chinese.lines)
			require.True(t, numeric(got[0].Text), "%q", got[0].Text)
			require.Zero(t, n.chinese.lines, "a line of digits is not read in Chinese")
			require.LessOrEqual(t, n.eng.lines, 2, "nor in its other renderings")
		})
	}
}
