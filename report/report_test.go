package report

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/match"
)

func TestHighlight(t *testing.T) {
	m := match.NewMatcher(match.DefaultRules())
	tests := []struct {
		name string
		text string
		want []Piece
	}{
		{"brand and phrase", "GUCCI bag replica", []Piece{
			{Text: "GUCCI", Kind: match.KindBrand, ID: "gucci"}, {Text: " bag "}, {Text: "replica", Kind: match.KindPhrase, ID: "replica"}}},
		{"nothing matched", "Live sale tonight!", []Piece{{Text: "Live sale tonight!"}}},
		{"empty", "", []Piece{{Text: ""}}},
		{"Chinese", "古驰高仿", []Piece{{Text: "古驰", Kind: match.KindBrand, ID: "gucci"}, {Text: "高仿", Kind: match.KindPhrase, ID: "replica"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, highlight(m, tc.text))
		})
	}
	require.Equal(t, []Piece{{Text: "GUCCI"}}, highlight(nil, "GUCCI"), "no matcher marks nothing")
}

// record is a closed record of alert id on stream with one evidence line.
func record(id, stream, text string, startMS, endMS int64) alerts.Record {
	ev := alerts.Evidence{Evidence: match.Evidence{AtMS: startMS, Text: text, Confidence: 91, Box: match.Box{X: 1, Y: 2, W: 30, H: 10}}}
	ev.Crop = alerts.CropKey(id, ev.Evidence)
	return alerts.Record{SchemaVersion: alerts.SchemaVersion, AlertID: id, State: alerts.StateClosed, Rule: "counterfeit-offer",
		Severity: match.SeverityHigh, StreamID: stream, Brands: []string{"gucci"}, Phrases: []string{"replica"},
		StartMS: startMS, EndMS: endMS, Evidence: []alerts.Evidence{ev}, EvidenceFrame: alerts.FrameKey(id, startMS)}
}

func TestCollectorKeepsWhatTheLastRecordNames(t *testing.T) {
	ctx := context.Background()
	c := &Collector{KeepImages: true}
	open := record("a1", "s", "GUCCI replica", 1000, 2000)
	open.State = alerts.StateOpen
	require.NoError(t, c.Put(ctx, "a1/frame-500.jpg", []byte("early")))
	require.NoError(t, c.Put(ctx, open.EvidenceFrame, []byte("frame")))
	require.NoError(t, c.Put(ctx, open.Evidence[0].Crop, []byte("crop")))
	require.NoError(t, c.Put(ctx, "a2/frame-1.jpg", []byte("other alert")))
	require.NoError(t, c.Publish(ctx, open))
	require.Equal(t, []byte("early"), c.Image("a1/frame-500.jpg"), "kept while the alert is open")

	closed := record("a1", "s", "GUCCI replica", 1000, 4000)
	require.NoError(t, c.Publish(ctx, closed))
	require.Nil(t, c.Image("a1/frame-500.jpg"), "an image the closing record does not name is let go")
	require.Equal(t, []byte("frame"), c.Image(closed.EvidenceFrame))
	require.Equal(t, []byte("crop"), c.Image(closed.Evidence[0].Crop))
	require.Equal(t, []byte("other alert"), c.Image("a2/frame-1.jpg"))

	require.NoError(t, c.Publish(ctx, record("b0", "s", "x", 500, 900)))
	require.NoError(t, c.Publish(ctx, record("z9", "other", "x", 0, 900)))
	got := c.Alerts("s")
	require.Len(t, got, 2)
	require.Equal(t, "b0", got[0].AlertID, "by start time")
	require.Equal(t, int64(4000), got[1].EndMS, "the latest record of each alert")
}

// failingStore refuses every image.
type failingStore struct{}

var errRefused = errors.New("refused")

func (failingStore) Put(context.Context, string, []byte) error { return errRefused }

func TestCollectorPassesImagesOn(t *testing.T) {
	var next memStore = map[string][]byte{}
	c := &Collector{Next: next}
	require.NoError(t, c.Put(context.Background(), "k", []byte("v")))
	require.Equal(t, []byte("v"), next["k"])
	require.Nil(t, c.Image("k"), "not kept without KeepImages")

	c = &Collector{Next: failingStore{}, KeepImages: true}
	require.ErrorIs(t, c.Put(context.Background(), "k", []byte("v")), errRefused)
}

type memStore map[string][]byte

func (m memStore) Put(_ context.Context, k string, v []byte) error { m[k] = v; return nil }

// fakeClock is a wall-clock that tests move.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestRunFiguresAndSummary(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	r := NewRun([]string{"a.mp4", "b.mp4", "c.mp4"})
	r.now = clock.now
	ctx := context.Background()

	r.Begin(0, "a-1", 100, "ab")
	r.Progress(0, 1000, 20*time.Second, Span{1000, 1000})
	r.Progress(0, 5000, 20*time.Second, Span{3000, 5000})
	r.Gap(0, Span{6000, 7000})
	r.Progress(0, 19960, 20*time.Second, Span{})
	require.NoError(t, r.Collector.Publish(ctx, record("x", "a-1", "GUCCI replica", 1000, 4000)))
	clock.t = clock.t.Add(4 * time.Second)
	r.End(0, nil)

	r.Begin(1, "b-1", 10, "cd")
	r.Progress(1, 8000, 30*time.Second, Span{})
	clock.t = clock.t.Add(2 * time.Second)
	r.End(1, errors.New("ingest: decode b.mp4:\n invalid data"))

	var buf bytes.Buffer
	require.NoError(t, r.WriteSummary(&buf))
	require.Equal(t, strings.Join([]string{
		"replay summary: a.mp4: 20s of media in 4s (5.0x real time); 1 alert (high 1, medium 0, low 0); unwatched: 2 spans, 3s",
		"replay summary: b.mp4: 30s of media in 2s (4.0x real time); 0 alerts (high 0, medium 0, low 0); unwatched: 1 span, 22s; failed: ingest: decode b.mp4: invalid data",
		"replay summary: c.mp4: not replayed (the run stopped before it)",
	}, "\n")+"\n", buf.String())
	files := r.Files()
	require.Equal(t, []Span{{3000, 5000}, {6000, 7000}}, files[0].Unwatched)
	require.Equal(t, []Span{{8000, 30000}}, files[1].Unwatched, "what follows the last frame of a failed file is unwatched")
}

func TestProgressText(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		f       File
		elapsed time.Duration
		want    string
	}{
		{"known duration", File{Path: "/rec/day1.mp4", Duration: 60 * time.Second, MediaMS: 15000}, 3 * time.Second,
			"replay 2/3 day1.mp4: 25% of 1m0s, 5.0x real time, 9s left"},
		{"unknown duration", File{Path: "pipe.ts", MediaMS: 4000}, 2 * time.Second,
			"replay 2/3 pipe.ts: 4s read, 2.0x real time"},
		{"nothing read yet", File{Path: "a.mp4", Duration: 5 * time.Second}, 0, "replay 2/3 a.mp4: 0% of 5s, starting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.started = start
			require.Equal(t, tc.want, progressText(2, 3, &f, start.Add(tc.elapsed)))
		})
	}
}

func TestLineKeepsProgressBelowOtherOutput(t *testing.T) {
	var term bytes.Buffer
	l := NewLine(&term, 20)
	_, err := l.Write([]byte("before\n"))
	require.NoError(t, err)
	l.Show("replay 1/1 a.mp4: 10%", true)
	l.Show("throttled", false)
	_, err = l.Write([]byte("log line\n"))
	require.NoError(t, err)
	l.Clear()
	require.Equal(t, "before\n"+
		clearLine+"replay 1/1 a.mp4: …"+
		clearLine+"log line\n"+clearLine+"replay 1/1 a.mp4: …"+
		clearLine, term.String())
}

func TestTimelineAndTicks(t *testing.T) {
	f := &File{Duration: 34 * time.Second, MediaMS: 33960, Alerts: []alerts.Record{record("x", "s", "t", 14000, 17000)},
		Unwatched: []Span{{30000, 30010}}}
	v := timeline(f)
	require.Len(t, v.Ticks, 7, "0 to 30 s every 5 s")
	require.Equal(t, "0:30.0", v.Ticks[6].Label)
	require.Equal(t, []barView{{X: 411.8, W: 88.2, Anchor: "alert-x", Class: "sev-high", Title: "high counterfeit-offer 0:14.0–0:17.0"}}, v.Segments)
	require.Equal(t, 2.0, v.Gaps[0].W, "a short span still shows")

	for _, tc := range []struct {
		length, step int64
	}{{900, 1000}, {10_000, 1000}, {34_000, 5000}, {3_600_000, 600_000}, {100 * 3_600_000, 11 * 3_600_000}} {
		require.Equal(t, tc.step, tickStep(tc.length), "length %d", tc.length)
	}
	require.Equal(t, "1:02:03", formatMS(3_723_400))
	require.Equal(t, "0:05.5", formatMS(5500))
}

func TestHTMLEscapesAndEmbeds(t *testing.T) {
	r := NewRun([]string{`<img src=x onerror=alert(1)>.mp4`})
	r.Matcher = match.NewMatcher(match.DefaultRules())
	r.Collector.KeepImages = true
	r.Tool = Tool{Version: "streamwatch test", Command: "streamwatch replay x", Flags: []string{"--channel=<b>shop</b>"}}
	ctx := context.Background()
	rec := record("a1", "s", `GUCCI replica <script>alert("x")</script>`, 1000, 4000)
	require.NoError(t, r.Collector.Put(ctx, rec.EvidenceFrame, []byte{0xff, 0xd8, 0xff}))
	require.NoError(t, r.Collector.Publish(ctx, rec))
	r.Begin(0, "s", 3, "abc")
	r.End(0, nil)

	var buf bytes.Buffer
	require.NoError(t, r.WriteHTML(&buf))
	page := buf.String()
	require.NotContains(t, page, "<script")
	require.NotContains(t, page, "<b>shop")
	require.NotContains(t, page, "<img src=x")
	require.Contains(t, page, "&lt;script&gt;")
	require.Contains(t, page, `src="data:image/jpeg;base64,/9j/"`, "the frame embedded")
	require.Contains(t, page, `<mark class="brand" title="brand gucci">GUCCI</mark>`)
	require.Contains(t, page, "Evidence images not kept", "the crop named but not kept is said to be missing")
	require.Contains(t, page, rec.Evidence[0].Crop)
	for _, external := range []string{"http://", "https://", "url(", "@import"} {
		require.NotContains(t, page, external)
	}
}
