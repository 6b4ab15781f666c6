package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
)

// observe feeds steps to tr without closing at the end.
func observe(tr *Tracker, steps []step) []Record {
	var out []Record
	for _, s := range steps {
		out = append(out, tr.Observe(s.at, t0.Add(time.Duration(s.at)*time.Millisecond), s.hits)...)
	}
	return out
}

func TestTrackerResumeContinuesTheSegment(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	other := hit("counterfeit-offer", []string{"prada"}, []string{"replica"}, "PRADA replica")
	// The first watcher sees the caption, opens and updates, then dies.
	first := observe(NewTracker(TrackerOptions{StreamID: "s1"}), []step{
		{1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}, {4000, []match.Hit{offer}},
		{6000, []match.Hit{offer}}, {7000, []match.Hit{offer}},
	})
	require.Equal(t, []string{"open", "update"}, states(first))
	last := first[len(first)-1]

	// The second joins 20 s later (media time continued): the caption is
	// still there, so the segment goes on under the same id, revisions on.
	tr := NewTracker(TrackerOptions{StreamID: "s1"})
	n, err := tr.Resume([]Record{last})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 1, tr.Open())
	rs := run(tr, []step{{27000, []match.Hit{offer}}, {28000, []match.Hit{offer, other}}, {29000, []match.Hit{other}}})
	require.Equal(t, []string{"update", "open", "closed", "closed"}, states(rs))
	require.Equal(t, last.AlertID, rs[0].AlertID)
	require.Equal(t, last.Revision+1, rs[0].Revision)
	require.Equal(t, int64(1000), rs[0].StartMS, "the segment keeps its start")
	require.Equal(t, int64(27000), rs[0].EndMS)
	require.Equal(t, last.StartedAt, rs[0].StartedAt)
	require.NotEqual(t, last.AlertID, rs[1].AlertID, "another brand opens its own")
	var closed Record
	for _, r := range rs {
		if r.State == StateClosed && r.AlertID == last.AlertID {
			closed = r
		}
	}
	require.Equal(t, last.Revision+2, closed.Revision)
	require.Equal(t, int64(28000), closed.EndMS)
}

func TestTrackerResumeClosesWhatIsGone(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	first := observe(NewTracker(TrackerOptions{StreamID: "s1"}), []step{{1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}})
	require.Len(t, first, 1)
	tr := NewTracker(TrackerOptions{StreamID: "s1", Gap: 3 * time.Second})
	// A closed record, another stream's record are not resumed.
	other := first[0]
	other.StreamID = "s2"
	n, err := tr.Resume([]Record{first[0], other, {AlertID: "x", StreamID: "s1", State: StateClosed}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// The unwatched 30 s are no gap: the segment waits Gap from the first
	// frame seen here, then closes where it was last seen.
	rs := observe(tr, []step{{32000, nil}, {34000, nil}})
	require.Empty(t, rs)
	rs = observe(tr, []step{{35500, nil}})
	require.Equal(t, []string{"closed"}, states(rs))
	require.Equal(t, first[0].AlertID, rs[0].AlertID)
	require.Equal(t, 1, rs[0].Revision)
	require.Equal(t, int64(2000), rs[0].EndMS)
	require.Zero(t, tr.Open())
}

func TestRecoverFromJetStream(t *testing.T) {
	_, js := testutil.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := EnsureStream(ctx, js)
	require.NoError(t, err)

	res, err := Recover(ctx, js, "s1")
	require.NoError(t, err)
	require.Empty(t, res.Open)
	require.True(t, res.Wall.IsZero(), "no records: nothing to continue")
	_, err = Recover(ctx, js, "bad id")
	require.ErrorIs(t, err, ErrStreamID)

	gucci := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	prada := hit("counterfeit-offer", []string{"prada"}, []string{"replica"}, "PRADA replica")
	tr := NewTracker(TrackerOptions{StreamID: "s1"})
	rs := observe(tr, []step{
		{1000, []match.Hit{prada}}, {2000, []match.Hit{prada}}, // opens, closes at 6000
		{4000, []match.Hit{gucci}}, {5000, []match.Hit{gucci}}, {6000, []match.Hit{gucci}},
		{8000, []match.Hit{gucci}}, {10000, []match.Hit{gucci}}, {11000, []match.Hit{gucci}},
	})
	require.Equal(t, []string{"open", "open", "closed", "update"}, states(rs))
	// Another stream's records and a message that is no record are passed over.
	otherStream := NewTracker(TrackerOptions{StreamID: "s2"})
	rs = append(rs, observe(otherStream, []step{{500, []match.Hit{gucci}}, {90000, []match.Hit{gucci}}, {91000, []match.Hit{gucci}}})...)
	sink := &JetStreamSink{JS: js}
	for _, r := range rs {
		require.NoError(t, sink.Publish(ctx, r))
	}
	_, err = js.Publish(ctx, SubjectPrefix+"s1", []byte("not json"))
	require.NoError(t, err)

	res, err = Recover(ctx, js, "s1")
	require.NoError(t, err)
	require.Len(t, res.Open, 1)
	require.Equal(t, rs[3], res.Open[0], "the last record of the open segment")
	require.Equal(t, t0.Add(10*time.Second), res.Wall)
	require.Equal(t, int64(10000), res.MediaMS)

	// A resumed tracker continues, and new segments start after every old one.
	tr2 := NewTracker(TrackerOptions{StreamID: "s1"})
	n, err := tr2.Resume(res.Open)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	at := res.MediaMS + 15000
	out := observe(tr2, []step{{at, []match.Hit{gucci, prada}}, {at + 1000, []match.Hit{gucci, prada}}})
	require.Equal(t, []string{"update", "open"}, states(out))
	require.Equal(t, rs[3].AlertID, out[0].AlertID)
	for _, r := range rs[:4] {
		require.NotEqual(t, r.AlertID, out[1].AlertID)
	}
}

func TestTrackerSuspendBridgesAnOutage(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	tr := NewTracker(TrackerOptions{StreamID: "s1"})
	rs := observe(tr, []step{{1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}})
	require.Equal(t, []string{"open"}, states(rs))
	// A reconnect: 20 s unwatched, the caption is still there 2 s after.
	tr.Suspend()
	rs = observe(tr, []step{{22000, nil}, {24000, []match.Hit{offer}}})
	require.Equal(t, []string{"update"}, states(rs), "the same alert goes on")
	// Without a hit within the gap after the outage, it closes where it was last seen.
	tr.Suspend()
	rs = observe(tr, []step{{60000, nil}, {63500, nil}})
	require.Equal(t, []string{"closed"}, states(rs))
	require.Equal(t, int64(24000), rs[0].EndMS)

	// Not suspended, the same outage splits the caption into two alerts.
	tr = NewTracker(TrackerOptions{StreamID: "s1"})
	rs = observe(tr, []step{{1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}, {22000, nil}, {24000, []match.Hit{offer}}, {25000, []match.Hit{offer}}})
	require.Equal(t, []string{"open", "closed", "open"}, states(rs))
}

func TestTrackerResumeReportsAnUnreadableStart(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	first := observe(NewTracker(TrackerOptions{StreamID: "s1"}), []step{{1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}})
	require.Len(t, first, 1)
	bad := first[0]
	bad.StartedAt = "yesterday"
	tr := NewTracker(TrackerOptions{StreamID: "s1"})
	n, err := tr.Resume([]Record{bad})
	require.ErrorIs(t, err, ErrStartedAt)
	require.ErrorContains(t, err, bad.AlertID)
	require.Equal(t, 1, n, "the segment is resumed all the same")
	rs := tr.Close(time.Unix(100, 0))
	require.Len(t, rs, 1)
	require.Equal(t, bad.AlertID, rs[0].AlertID)
	require.Equal(t, FormatTime(time.Time{}), rs[0].StartedAt)
}
