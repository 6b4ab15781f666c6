package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/pool"
)

// poolCaptions are the counterfeit offers of the pool's live clip: 20 s each,
// 3 s apart, one brand each, so every caption is one alert.
var poolCaptions = []struct {
	text    string
	brand   string
	startMS int64
}{
	{"GUCCI bag 1:1 replica", "gucci", 3000},
	{"PRADA super copy bag", "prada", 26000},
	{"LV AAA quality wallet", "louis-vuitton", 49000},
	{"CHANEL 1:1 replica bag", "chanel", 72000},
}

const poolCaptionMS = 20000

// alertLog collects the alert records seen on NATS, per stream.
type alertLog struct {
	mu  sync.Mutex
	rec map[string][]alerts.Record
}

// has tells whether every stream in ids has a record of brand in state.
func (a *alertLog) has(ids []string, brand string, state alerts.State) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		found := false
		for _, r := range a.rec[id] {
			found = found || (r.State == state && len(r.Brands) == 1 && r.Brands[0] == brand)
		}
		if !found {
			return false
		}
	}
	return true
}

// TestPoolLiveFailoverOneAlertPerCaption is the pool's acceptance test with
// live sources: six clips published in real time to nginx-rtmp, a real
// nats-server, three worker processes. While a caption is on screen one
// worker is killed with SIGKILL, and, during a later caption, another is sent
// SIGTERM. Every caption of every stream must still give exactly one alert
// (one alert id, one open record, closed at the end), the segments cut by the
// kill and the drain must run on under their ids on the new worker, and media
// time must go on across workers (the captions' alerts start 23 s apart).
func TestPoolLiveFailoverOneAlertPerCaption(t *testing.T) {
	if testing.Short() {
		t.Skip("live pool test runs for about two minutes")
	}
	ng := startNginx(t)
	n := &natsProcess{t: t, port: freePort(t), store: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)

	var caps []clipgen.Caption
	for _, c := range poolCaptions {
		caps = append(caps, clipgen.Caption{Text: c.text, StartMS: c.startMS, EndMS: c.startMS + poolCaptionMS, Size: 32, Box: "black@0.6"})
	}
	clip := testutil.Generate(t, clipgen.Clip{Name: "pool-live", Width: 360, Height: 640, FPS: 10,
		DurationMS: 97000, Captions: caps})

	nc := testutil.Connect(t, n.url())
	attach := newAttachLog(t, nc)
	seen := &alertLog{rec: map[string][]alerts.Record{}}
	_, err := nc.Subscribe(alerts.SubjectPrefix+"*", func(m *nats.Msg) {
		var r alerts.Record
		if json.Unmarshal(m.Data, &r) == nil {
			seen.mu.Lock()
			seen.rec[r.StreamID] = append(seen.rec[r.StreamID], r)
			seen.mu.Unlock()
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	// Leases of 6 s (renewed every 2 s) so that a killed worker's streams
	// move while their caption is still on screen.
	worker := func(id string, capacity int) *poolWorker {
		return startPoolWorker(t, n.url(), id, capacity, "--ack-wait", "6s")
	}
	w1 := worker("w1", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	store, err := pool.Open(ctx, nc, 0)
	cancel()
	require.NoError(t, err)

	ids := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	for _, id := range ids {
		publishClip(t, clip, "flv", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", ng.rtmpPort, id))
	}
	clipStart := time.Now()
	at := func(ms int64) time.Time { return clipStart.Add(time.Duration(ms) * time.Millisecond) }
	// until is the time left to a moment of the clip, at least a second.
	until := func(t time.Time) time.Duration { return max(time.Until(t), time.Second) }
	for _, id := range ids {
		url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", ng.rtmpPort, id)
		r := runBin(t, 30*time.Second, "", "submit", url, "--stream-id", id, "--nats", n.url())
		require.Equal(t, 0, r.code, r.stderr)
	}
	// Two streams each for w1 and w2, the other two for w3, which has room
	// for all six.
	require.Eventually(t, func() bool { return len(holders(t, store)) == 2 }, 20*time.Second, 100*time.Millisecond)
	w2 := worker("w2", 2)
	require.Eventually(t, func() bool { return len(holders(t, store)) == 4 }, 20*time.Second, 100*time.Millisecond)
	worker("w3", 6)
	require.Eventually(t, func() bool { return attach.attachedSince(ids, time.Time{}) }, 30*time.Second, 100*time.Millisecond,
		"all six attached")
	t.Logf("all six streams attached %s after the clips began", time.Since(clipStart).Round(100*time.Millisecond))
	require.Less(t, time.Since(clipStart), 12*time.Second, "too slow to attach before the first caption ends")
	require.Eventually(t, func() bool { return seen.has(ids, "gucci", alerts.StateOpen) }, until(at(23000)), 100*time.Millisecond,
		"the first caption alerted on every stream")

	// kill -9 of w2 while the second caption is on screen and its alert open.
	h := holders(t, store)
	killed := heldBy(h, "w2")
	require.Len(t, killed, 2)
	require.Eventually(t, func() bool { return seen.has(killed, "prada", alerts.StateOpen) }, until(at(33000)), 100*time.Millisecond)
	time.Sleep(time.Until(at(31000)))
	killAt := time.Now()
	require.NoError(t, w2.cmd.Process.Signal(syscall.SIGKILL))
	<-w2.exited
	attach.forget(killed)
	require.Eventually(t, func() bool { return attach.attachedSince(killed, killAt) }, 30*time.Second, 100*time.Millisecond,
		"the killed worker's streams are watched again")
	reattach := attach.lastAttach(killed).Sub(killAt)
	t.Logf("kill -9 at clip %.1f s → both streams re-attached on w3 in %s", killAt.Sub(clipStart).Seconds(), reattach.Round(100*time.Millisecond))
	require.Less(t, reattach, 30*time.Second)

	// SIGTERM of w1 while the third caption is on screen.
	drained := heldBy(holders(t, store), "w1")
	require.Len(t, drained, 2)
	require.Eventually(t, func() bool { return seen.has(drained, "louis-vuitton", alerts.StateOpen) }, until(at(56000)), 100*time.Millisecond)
	time.Sleep(time.Until(at(54000)))
	termAt := time.Now()
	require.NoError(t, w1.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool {
		h := holders(t, store)
		return h[drained[0]] == "w3" && h[drained[1]] == "w3"
	}, 10*time.Second, 10*time.Millisecond, "the drained worker's streams move at once")
	moved := time.Since(termAt)
	require.Eventually(t, func() bool { return attach.attachedSince(drained, termAt) }, 10*time.Second, 20*time.Millisecond,
		"the drained worker's streams are watched again")
	handoff := attach.lastAttach(drained).Sub(termAt)
	exitAfter := w1.exitedAfter(t, termAt)
	t.Logf("SIGTERM at clip %.1f s → both streams taken by w3 in %s, re-attached (first RTMP keyframe) in %s; w1 exited after %s",
		termAt.Sub(clipStart).Seconds(), moved.Round(10*time.Millisecond), handoff.Round(10*time.Millisecond), exitAfter.Round(10*time.Millisecond))
	require.Less(t, handoff, 10*time.Second)
	require.Less(t, exitAfter, 10*time.Second)
	require.Equal(t, 0, w1.cmd.ProcessState.ExitCode())
	require.Eventually(t, func() bool { return len(heldBy(holders(t, store), "w3")) == len(ids) }, 5*time.Second, 50*time.Millisecond)

	// The last caption, then stop every stream: what is open closes.
	require.Eventually(t, func() bool { return seen.has(ids, "chanel", alerts.StateOpen) }, until(at(85000)), 200*time.Millisecond)
	time.Sleep(time.Until(at(97000)))
	for _, id := range ids {
		r := runBin(t, 30*time.Second, "", "stop", id, "--nats", n.url())
		require.Equal(t, 0, r.code, r.stderr)
	}
	require.Eventually(t, func() bool { return len(holders(t, store)) == 0 }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return seen.has(ids, "chanel", alerts.StateClosed) }, 10*time.Second, 100*time.Millisecond)

	// What JetStream holds: per stream, one alert per caption.
	gaps := 0
	for _, id := range ids {
		rs, _ := storedRecords(t, n.url(), id)
		byID := map[string][]alerts.Record{}
		for _, r := range rs {
			require.NoError(t, alerts.ValidateRecordJSON(mustJSON(t, r)))
			byID[r.AlertID] = append(byID[r.AlertID], r)
		}
		type alert struct {
			brand      string
			start, end int64
		}
		var got []alert
		for aid, recs := range byID {
			opens := 0
			for i, r := range recs {
				if r.State == alerts.StateOpen {
					opens++
				}
				if i > 0 {
					require.Greater(t, r.Revision, recs[i-1].Revision, "%s %s: revisions go up", id, aid)
					gaps += r.Revision - recs[i-1].Revision - 1
				}
			}
			first, last := recs[0], recs[len(recs)-1]
			require.Equal(t, 1, opens, "%s %s: one open record", id, aid)
			require.Equal(t, 0, first.Revision)
			require.Equal(t, alerts.StateClosed, last.State, "%s %s: closed at the end", id, aid)
			require.Len(t, last.Brands, 1)
			got = append(got, alert{last.Brands[0], last.StartMS, last.EndMS})
		}
		sort.Slice(got, func(i, j int) bool { return got[i].start < got[j].start })
		var brands []string
		for _, a := range got {
			brands = append(brands, a.brand)
		}
		want := []string{}
		for _, c := range poolCaptions {
			want = append(want, c.brand)
		}
		require.Equal(t, want, brands, "stream %s: one alert per caption, in order: %+v", id, got)
		// Media time goes on across workers: the alerts start as far apart
		// as the captions do (23 s), and the segments cut by the kill or
		// the drain span their caption, not just the part one worker saw.
		for i := 1; i < len(got); i++ {
			require.InDelta(t, 23000, got[i].start-got[i-1].start, 3500, "stream %s: %+v", id, got)
		}
		for i := 1; i < len(got)-1; i++ { // the first may have begun before the worker joined
			require.Greater(t, got[i].end-got[i].start, int64(poolCaptionMS-4000), "stream %s alert %d: %+v", id, i, got)
		}
	}
	t.Logf("records missing between revisions (lost with the killed worker): %d", gaps)
	attach.mu.Lock()
	require.Empty(t, attach.twice, "a stream watched by two monitors at once")
	attach.mu.Unlock()
}
