package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/rtsptest"
)

// TestLiveRTSP: ffmpeg publishes the clip to an RTSP server (gortsplib) with
// ANNOUNCE/RECORD over TCP; the worker reads it with DESCRIBE/SETUP/PLAY. The
// server holds the worker's DESCRIBE until the publisher announces, and the
// publisher's RECORD until the worker plays, so the worker gets the stream from
// its first keyframe and media time ≈ clip time.
func TestLiveRTSP(t *testing.T) {
	liveClip(t) // before the clock starts: the first test to ask makes it
	srv, err := rtsptest.Start(rtsptest.Options{HoldDescribe: 8 * time.Second, HoldRecord: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(srv.Close)

	w := startWatch(t, srv.URL("live"), "rtsp-shop")
	require.Eventually(t, func() bool { return srv.Clients().Waiting > 0 }, 20*time.Second, 20*time.Millisecond,
		"the worker never asked for the stream; stderr:\n%s", w.stderr.String())
	clipStart := time.Now()
	publish(t, "rtsp", srv.URL("live"), "-rtsp_transport", "tcp")

	lat := w.checkCaptions(t, clipStart, 30*time.Second)
	t.Logf("RTSP: caption-to-alert latency %v, median %v", lat, median(lat))
	require.Equal(t, 1, srv.Clients().Readers)
	w.waitStatus(t, "attached", time.Second)
	w.stop(t)
}
