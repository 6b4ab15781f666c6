package pool

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestOverloadedWorkerFetchesNoStreams: a worker over its budget takes no
// new stream, says why in Unready and its heartbeat, while another worker
// takes them; once within budget again, it fetches.
func TestOverloadedWorkerFetchesNoStreams(t *testing.T) {
	p := newTestPool(t)
	var why atomic.Pointer[string]
	reason := "stream s0 lags 12.0s"
	why.Store(&reason)
	loads := []StreamLoad{{StreamID: "s0", Interval: 3, Lag: 12}}
	busy, err := NewWorker(Options{Store: p.open(), ID: "busy", Capacity: 4, AckWait: 3 * time.Second,
		FetchWait: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Watcher: p.watch.for_("busy"),
		Metrics:    NewMetrics(prometheus.NewRegistry()),
		Overloaded: func() string { return *why.Load() },
		Loads:      func() []StreamLoad { return loads }})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = busy.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		_, ws, err := p.store.Status(context.Background())
		return err == nil && len(ws) == 1 && ws[0].Overloaded == reason && len(ws[0].Loads) == 1
	}, 5*time.Second, 50*time.Millisecond, "the heartbeat says why, and the streams' loads")
	require.Equal(t, reason, busy.Unready())

	p.submit("s1", "s2")
	p.start("idle", 4)
	require.Eventually(t, func() bool { return len(p.watch.by("idle")) == 2 }, 10*time.Second, 50*time.Millisecond,
		"the other worker takes the streams")
	require.Empty(t, p.watch.by("busy"))

	none := ""
	why.Store(&none)
	require.Empty(t, busy.Unready())
	p.submit("s3")
	require.Eventually(t, func() bool { return p.watch.count() == 3 }, 10*time.Second, 50*time.Millisecond)
}
