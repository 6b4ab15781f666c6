package alerts

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/match"
)

// frame is one sampled frame as the tracker sees it: its media time, the
// media time that went unwatched before it (frames dropped under load), and
// its hits.
type frame struct {
	at, unwatched int64
	hits          []match.Hit
}

func feed(tr *Tracker, fs []frame) []Record {
	var out []Record
	for _, f := range fs {
		tr.Unwatched(f.unwatched)
		out = append(out, observe(tr, []step{{f.at, f.hits}})...)
	}
	return out
}

func TestTrackerUnwatchedSpanIsNoAbsence(t *testing.T) {
	offer := []match.Hit{hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")}
	tests := []struct {
		name   string
		frames []frame
		want   []string
		endMS  int64 // of the closed record, when one is wanted
	}{
		{
			// Frames at 3..7 s were dropped: 5 of the 6 s between 2 and 8 s went unwatched.
			name:   "drops inside a caption do not split it",
			frames: []frame{{1000, 0, offer}, {2000, 0, offer}, {8000, 5000, offer}, {9000, 0, offer}},
			want:   []string{"open", "update"},
		},
		{
			name:   "drops before the second hit do not lose a pending segment",
			frames: []frame{{1000, 0, offer}, {7000, 5000, offer}},
			want:   []string{"open"},
		},
		{
			// Under sustained overload one frame in three is read: each step
			// is 1 s watched, 2 s unwatched; the caption went at 5 s.
			name: "a caption gone under sustained drops still closes where it was last seen",
			frames: []frame{{1000, 0, offer}, {2000, 0, offer}, {5000, 2000, offer}, {8000, 2000, nil},
				{11000, 2000, nil}, {14000, 2000, nil}, {17000, 2000, nil}},
			want:  []string{"open", "closed"},
			endMS: 5000,
		},
		{
			name:   "watched quiet longer than the gap closes as before",
			frames: []frame{{1000, 0, offer}, {2000, 0, offer}, {3000, 0, nil}, {4000, 0, nil}, {5000, 0, nil}, {6000, 0, nil}},
			want:   []string{"open", "closed"},
			endMS:  2000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(TrackerOptions{StreamID: "s1"})
			rs := feed(tr, tc.frames)
			require.Equal(t, tc.want, states(rs))
			if tc.endMS != 0 {
				require.Equal(t, tc.endMS, rs[len(rs)-1].EndMS)
			}
			for _, r := range rs {
				require.Equal(t, rs[0].AlertID, r.AlertID, "one alert")
			}
		})
	}
}
