package ingest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// TestLiveSourceDecodesOnlyWithASlot: while another holds the process's one
// decode slot, a live source hands on no frame and, falling behind its edge,
// skips; given the slot back it catches up and goes on to the end. A file
// takes no slot.
func TestLiveSourceDecodesOnlyWithASlot(t *testing.T) {
	path := testutil.Clip(t, "slots.ts", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "6",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "12", "-f", "mpegts")
	slots := NewDecodeSlots(1)
	release, err := slots.take(context.Background())
	require.NoError(t, err)

	skipped := prometheus.NewCounter(prometheus.CounterOpts{Name: "skipped", Help: "skipped"})
	src := openT(t, pacedStream(t, path, 6*time.Second), Options{Decode: DecodeAuto, Judge: &scriptedJudge{},
		SampleInterval: 250 * time.Millisecond, FramesSkipped: skipped, DecodeSlots: slots})
	require.True(t, src.Info().Live)
	var frames, whileHeld atomic.Int64
	var held atomic.Bool
	held.Store(true)
	done := make(chan error, 1)
	go func() {
		done <- src.Run(context.Background(), func(f Frame) error {
			frames.Add(1)
			if held.Load() {
				whileHeld.Add(1)
			}
			return nil
		})
	}()
	// Held for three times the lag past which a source skips (twice the
	// sample interval): a wait of the source, not of the test's events.
	time.Sleep(1500 * time.Millisecond)
	held.Store(false)
	release()
	require.NoError(t, <-done)
	require.Zero(t, whileHeld.Load(), "no frame decoded without a slot")
	require.Positive(t, frames.Load(), "decoded once the slot came back")
	require.Positive(t, promtest.ToFloat64(skipped), "having waited, the source was behind its edge and skipped")

	// A file decodes with every slot taken.
	release, err = slots.take(context.Background())
	require.NoError(t, err)
	defer release()
	n := 0
	require.NoError(t, openT(t, path, Options{DecodeSlots: slots}).Run(context.Background(), func(Frame) error { n++; return nil }))
	require.Equal(t, 150, n)
}

func TestDecodeSlotsWaitEndsWithTheContext(t *testing.T) {
	slots := NewDecodeSlots(0) // at least one
	release, err := slots.take(context.Background())
	require.NoError(t, err)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = slots.take(ctx)
	require.ErrorIs(t, err, context.Canceled)
	var none DecodeSlots
	r, err := none.take(ctx)
	require.NoError(t, err, "nil slots bound nothing")
	r()
}
