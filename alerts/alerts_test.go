package alerts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
)

func TestMain(m *testing.M) { testutil.Main(m) }

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func hit(rule string, brands, phrases []string, text string) match.Hit {
	return match.Hit{Rule: rule, Severity: "high", Brands: brands, Phrases: phrases,
		Evidence: []match.Evidence{{Text: text, Confidence: 90}}}
}

type step struct {
	at   int64
	hits []match.Hit
}

func run(tr *Tracker, steps []step) []Record {
	var out []Record
	for _, s := range steps {
		out = append(out, tr.Observe(s.at, t0.Add(time.Duration(s.at)*time.Millisecond), s.hits)...)
	}
	return append(out, tr.Close(t0.Add(time.Hour))...)
}

func states(rs []Record) []string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r.State))
	}
	return s
}

func TestTracker(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	tests := []struct {
		name       string
		steps      []step
		wantStates []string
		wantStart  []int64
		wantEnd    []int64
	}{
		{
			name:       "one caption gives open then closed",
			steps:      []step{{0, nil}, {1000, []match.Hit{offer}}, {2000, []match.Hit{offer}}, {3000, []match.Hit{offer}}, {4000, nil}, {8000, nil}},
			wantStates: []string{"open", "closed"},
			wantStart:  []int64{1000, 1000},
			wantEnd:    []int64{1000, 3000},
		},
		{
			name:       "a gap within tolerance is bridged",
			steps:      []step{{1000, []match.Hit{offer}}, {2000, nil}, {3000, nil}, {4000, []match.Hit{offer}}, {9000, nil}},
			wantStates: []string{"open", "closed"},
			wantStart:  []int64{1000, 1000},
			wantEnd:    []int64{1000, 4000},
		},
		{
			name: "a joining phrase gives an update",
			steps: []step{{1000, []match.Hit{offer}},
				{2000, []match.Hit{hit("counterfeit-offer", []string{"gucci"}, []string{"grade", "replica"}, "GUCCI AAA")}}},
			wantStates: []string{"open", "update", "closed"},
			wantStart:  []int64{1000, 1000, 1000},
			wantEnd:    []int64{1000, 2000, 2000},
		},
		{
			name: "a long segment updates every 5 s",
			steps: func() []step {
				var s []step
				for at := int64(0); at <= 12000; at += 1000 {
					s = append(s, step{at, []match.Hit{offer}})
				}
				return s
			}(),
			wantStates: []string{"open", "update", "update", "closed"},
			wantStart:  []int64{0, 0, 0, 0},
			wantEnd:    []int64{0, 5000, 10000, 12000},
		},
		{
			name:       "the end of the stream closes open segments",
			steps:      []step{{1000, []match.Hit{offer}}},
			wantStates: []string{"open", "closed"},
			wantStart:  []int64{1000, 1000},
			wantEnd:    []int64{1000, 1000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := run(NewTracker(TrackerOptions{StreamID: "s1", MinHits: 1}), tc.steps)
			require.Equal(t, tc.wantStates, states(rs))
			for i, r := range rs {
				require.Equal(t, tc.wantStart[i], r.StartMS, "record %d", i)
				require.Equal(t, tc.wantEnd[i], r.EndMS, "record %d", i)
				require.Equal(t, i, r.Revision)
				require.Equal(t, rs[0].AlertID, r.AlertID)
				require.Equal(t, SchemaVersion, r.SchemaVersion)
			}
		})
	}
}

func TestTrackerGapBeyondToleranceSplits(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	rs := run(NewTracker(TrackerOptions{StreamID: "s1", MinHits: 1}), []step{{1000, []match.Hit{offer}}, {5000, []match.Hit{offer}}, {10000, nil}})
	require.Equal(t, []string{"open", "closed", "open", "closed"}, states(rs))
	require.Equal(t, rs[0].AlertID, rs[1].AlertID)
	require.NotEqual(t, rs[0].AlertID, rs[2].AlertID)
	require.Equal(t, int64(1000), rs[1].EndMS)
	require.Equal(t, int64(5000), rs[2].StartMS)
	require.Equal(t, int64(5000), rs[3].EndMS)
}

func TestTrackerMinHits(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	// One glitch frame pages nobody.
	rs := run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, []match.Hit{offer}}, {2000, nil}, {6000, nil}})
	require.Empty(t, rs)
	// Two hits within the gap open a segment that starts at the first.
	rs = run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, []match.Hit{offer}}, {3000, []match.Hit{offer}}, {9000, nil}})
	require.Equal(t, []string{"open", "closed"}, states(rs))
	require.Equal(t, int64(1000), rs[0].StartMS)
	require.Equal(t, int64(3000), rs[0].EndMS)
	require.Equal(t, AlertID("s", "counterfeit-offer", 1000, "brand:gucci"), rs[0].AlertID)
	// Two hits further apart than the gap do not.
	rs = run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, []match.Hit{offer}}, {5000, []match.Hit{offer}}, {12000, nil}})
	require.Empty(t, rs)
}

func TestTrackerMaxLength(t *testing.T) {
	offer := hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica")
	var steps []step
	for at := int64(0); at <= 25000; at += 1000 {
		steps = append(steps, step{at, []match.Hit{offer}})
	}
	rs := run(NewTracker(TrackerOptions{StreamID: "s", MaxLength: 10 * time.Second, UpdateEvery: time.Hour}), steps)
	require.Equal(t, []string{"open", "closed", "open", "closed", "open", "closed"}, states(rs))
	require.Equal(t, int64(0), rs[0].StartMS)
	require.Equal(t, int64(9000), rs[1].EndMS)
	require.Equal(t, int64(10000), rs[2].StartMS)
	require.NotEqual(t, rs[0].AlertID, rs[2].AlertID)
	require.Equal(t, int64(25000), rs[5].EndMS)
}

func TestTrackerOneSegmentPerBrand(t *testing.T) {
	// One caption makes the high brand rule and the low phrase rule hold:
	// one page, under the high rule.
	frame := []match.Hit{
		{Rule: "counterfeit-phrase", Severity: "low", Brands: []string{"gucci"}, Phrases: []string{"replica"}},
		hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI 1:1 replica"),
	}
	rs := run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, frame}, {2000, frame}, {9000, nil}})
	require.Equal(t, []string{"open", "closed"}, states(rs))
	require.Equal(t, "counterfeit-offer", rs[0].Rule)
	require.Equal(t, match.SeverityHigh, rs[0].Severity)

	// Two brands in one caption: a segment each.
	two := []match.Hit{hit("counterfeit-offer", []string{"gucci", "prada"}, []string{"replica"}, "GUCCI PRADA replica")}
	rs = run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, two}, {2000, two}, {9000, nil}})
	require.Equal(t, []string{"open", "open", "closed", "closed"}, states(rs))
	require.Equal(t, []string{"gucci"}, rs[0].Brands)
	require.Equal(t, []string{"prada"}, rs[1].Brands)
	require.NotEqual(t, rs[0].AlertID, rs[1].AlertID)

	// A phrase alone (no brand anywhere) still gets its own segment.
	phrase := []match.Hit{{Rule: "counterfeit-phrase", Severity: "low", Brands: []string{}, Phrases: []string{"replica"},
		Evidence: []match.Evidence{{Text: "replica watches", Confidence: 90}}}}
	rs = run(NewTracker(TrackerOptions{StreamID: "s"}), []step{{1000, phrase}, {2000, phrase}, {9000, nil}})
	require.Equal(t, []string{"open", "closed"}, states(rs))
	require.Equal(t, "counterfeit-phrase", rs[0].Rule)
}

func TestAlertIDIsDerived(t *testing.T) {
	a := AlertID("s1", "counterfeit-offer", 1000, "brand:gucci")
	require.Equal(t, a, AlertID("s1", "counterfeit-offer", 1000, "brand:gucci"))
	require.NotEqual(t, a, AlertID("s2", "counterfeit-offer", 1000, "brand:gucci"))
	require.NotEqual(t, a, AlertID("s1", "counterfeit-phrase", 1000, "brand:gucci"))
	require.NotEqual(t, a, AlertID("s1", "counterfeit-offer", 1001, "brand:gucci"))
	require.NotEqual(t, a, AlertID("s1", "counterfeit-offer", 1000, "brand:prada"))
	require.Len(t, a, 24)
}

func TestStreamIDs(t *testing.T) {
	for _, ok := range []string{"a", "demo_1", "A-b-9", string(bytes.Repeat([]byte("x"), 128))} {
		require.NoError(t, ValidateStreamID(ok), ok)
	}
	for _, bad := range []string{"", "a.b", "a b", "a>", "*", "古驰", string(bytes.Repeat([]byte("x"), 129))} {
		require.ErrorIs(t, ValidateStreamID(bad), ErrStreamID, bad)
	}
	tests := map[string]string{
		"demo.mp4":                         "demo-mp4",
		"rtmp://user:pw@host:1935/live/x1": "rtmp-user-pw-host-1935-live-x1",
		"///":                              "stream",
		"古驰 live":                          "live",
	}
	for in, want := range tests {
		got := SanitizeStreamID(in)
		require.Equal(t, want, got, in)
		require.NoError(t, ValidateStreamID(got))
	}
}

func TestJetStreamSinkDedupes(t *testing.T) {
	_, js := testutil.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := EnsureStream(ctx, js)
	require.NoError(t, err)
	_, err = EnsureStream(ctx, js) // idempotent
	require.NoError(t, err)

	rs := run(NewTracker(TrackerOptions{StreamID: "shop-1", Channel: "c", MinHits: 1}), []step{
		{1000, []match.Hit{hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI replica")}},
	})
	sink := &JetStreamSink{JS: js}
	for range 2 { // the second round is a re-publish and must be deduped
		for _, r := range rs {
			require.NoError(t, sink.Publish(ctx, r))
		}
	}
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(len(rs)), info.State.Msgs)

	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"streamwatch.alerts.shop-1"}})
	require.NoError(t, err)
	for i := range rs {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		var got Record
		require.NoError(t, json.Unmarshal(msg.Data(), &got))
		require.Equal(t, rs[i], got)
		require.Equal(t, rs[i].MsgID(), msg.Headers().Get(jetstream.MsgIDHeader))
	}
}

func TestJSONLinesAndPrinter(t *testing.T) {
	rs := run(NewTracker(TrackerOptions{StreamID: "s", MinHits: 1}), []step{
		{1500, []match.Hit{hit("counterfeit-offer", []string{"gucci"}, []string{"replica"}, "GUCCI replica")}},
	})
	var jl, pr bytes.Buffer
	sinks := Multi{&JSONLines{W: &jl}, &Printer{W: &pr}}
	for _, r := range rs {
		require.NoError(t, sinks.Publish(context.Background(), r))
	}
	lines := bytes.Split(bytes.TrimSpace(jl.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var m map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &m))
	for _, k := range []string{"schema_version", "alert_id", "state", "rule", "severity", "stream_id", "channel",
		"brands", "phrases", "start_ms", "end_ms", "started_at", "updated_at", "evidence"} {
		require.Contains(t, m, k)
	}
	require.Equal(t, "2026-11-28T12:00:01.500Z", m["started_at"])
	require.Contains(t, pr.String(), `ALERT open`)
	require.Contains(t, pr.String(), `brands=gucci phrases=replica`)
	require.Contains(t, pr.String(), `"GUCCI replica"`)
}

func TestRecordingStreamID(t *testing.T) {
	sum := sha256.Sum256([]byte("a recording"))
	suffix := "-" + hex.EncodeToString(sum[:8])
	tests := []struct{ name, want string }{
		{"live", "live"},
		{"day1_live", "day1_live"},
		{"shop 7 (final)", "shop-7-final"},
		{"報告", "u5831_u544a"},
		{"直播day1", "u76f4_u64ad_day1"},
		{"GUCCI 直播", "GUCCI-u76f4_u64ad"},
		{"...", "recording"},
		{"", "recording"},
		{strings.Repeat("x", 300), strings.Repeat("x", 111)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RecordingStreamID(tc.name, sum)
			require.Equal(t, tc.want+suffix, got)
			require.NoError(t, ValidateStreamID(got))
		})
	}
	other := sha256.Sum256([]byte("another recording"))
	require.NotEqual(t, RecordingStreamID("live", sum), RecordingStreamID("live", other))
	require.NotEqual(t, RecordingStreamID("報告", sum), RecordingStreamID("简报", sum))
}
