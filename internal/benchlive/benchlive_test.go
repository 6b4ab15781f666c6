package benchlive

import (
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/monitor"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       int64
		err        bool
	}{
		{"plain", "1815 (streamwatch) S 1 1815 1815 0 -1 4194560 93581 0 0 0 734 62 0 0 20 0 23 0 1380 2497449984 103998 18446744073709551615", 796, false},
		{"name with spaces and parentheses", "42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 1 1 1", 15, false},
		{"no name", "42 a R 1", 0, true},
		{"too short", "42 (x) R 1 2 3", 0, true},
		{"not a number", "42 (x) R 1 42 42 0 -1 0 0 0 0 0 ten 5 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.stat))
			if tt.err {
				require.ErrorIs(t, err, ErrProcFormat)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	status := "Name:\tstreamwatch\nVmPeak:\t 2438916 kB\nVmHWM:\t  415996 kB\nVmRSS:\t  406300 kB\nThreads:\t23\n"
	rss, peak, err := ParseStatusRSS([]byte(status))
	require.NoError(t, err)
	require.Equal(t, int64(406300)<<10, rss)
	require.Equal(t, int64(415996)<<10, peak)

	_, _, err = ParseStatusRSS([]byte("Name:\tx\nVmRSS:\t 12 kB\n"))
	require.ErrorIs(t, err, ErrProcFormat, "no VmHWM (a kernel thread)")
	_, _, err = ParseStatusRSS([]byte("VmRSS:\t 12 MB\nVmHWM:\t 12 kB\n"))
	require.ErrorIs(t, err, ErrProcFormat, "unit")
}

func TestParseMachineCPU(t *testing.T) {
	busy, total, err := ParseMachineCPU([]byte("cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 1 2 3 4 5 6 7 8\n"))
	require.NoError(t, err)
	require.Equal(t, int64(100+5+50+3+2), busy, "idle and iowait are not busy; guest is in user already")
	require.Equal(t, int64(100+5+50+800+40+3+2), total)
	_, _, err = ParseMachineCPU([]byte("intr 1 2 3\n"))
	require.ErrorIs(t, err, ErrProcFormat)
}

// TestReadProcSelf reads this test's own /proc entry: the CPU it reports
// grows as getrusage's does (whatever else the machine runs), and RSS is
// plausible.
func TestReadProcSelf(t *testing.T) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	a, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	r0 := cpu()
	x := 0.0
	for cpu()-r0 < 300*time.Millisecond {
		for range 10000 {
			x += math.Sqrt(x + 1)
		}
	}
	r1 := cpu()
	b, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, x)
	require.InDelta(t, (r1 - r0).Seconds(), (b.CPU - a.CPU).Seconds(), 0.05, "utime+stime agree with getrusage")
	require.Greater(t, b.RSS, int64(1<<20))
	require.GreaterOrEqual(t, b.PeakRSS, b.RSS)
	m1, err := readMachine()
	require.NoError(t, err)
	require.Positive(t, m1.total)
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	require.InDelta(t, 3, Median(xs), 1e-9)
	require.InDelta(t, 1, Percentile(xs, 0), 1e-9)
	require.InDelta(t, 5, Percentile(xs, 100), 1e-9)
	require.InDelta(t, 4.8, Percentile(xs, 95), 1e-9, "between the two highest, as numpy")
	require.InDelta(t, 2.5, Median([]float64{3, 2}), 1e-9)
	require.InDelta(t, 7, Percentile([]float64{7}, 95), 1e-9)
	require.True(t, math.IsNaN(Median(nil)))
	require.Equal(t, []float64{5, 1, 4, 2, 3}, xs, "the input is left as it was")
}

func TestSlope(t *testing.T) {
	require.InDelta(t, 2, slope([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}), 1e-9)
	require.InDelta(t, 0, slope([]float64{0, 1, 2}, []float64{4, 4, 4}), 1e-9)
	require.Zero(t, slope([]float64{1}, []float64{1}))
}

func TestRSSSlopeOverTheSecondHalf(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var procs []ProcSample
	for m := 0; m <= 20; m++ {
		rss := 800 + 10*min(m, 6) // grows for 6 minutes, then flat
		procs = append(procs, ProcSample{At: t0.Add(time.Duration(m) * time.Minute), RSS: int64(rss) * mb})
	}
	r := &run{cfg: Config{Every: 5 * time.Minute}, tl: timeline{firstStart: t0}}
	whole, late, rows := r.rssOverTime(procs, t0, t0.Add(20*time.Minute))
	require.Greater(t, whole, 20.0, "the start-up growth weighs in the slope over the span")
	require.Zero(t, late, "flat after it")
	require.Len(t, rows, 5)
	procs[20].RSS += 50 * mb
	_, late, _ = r.rssOverTime(procs, t0, t0.Add(20*time.Minute))
	require.Greater(t, late, 5.0, "growth late in the span shows")
}

func TestScoreCaptions(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const period = time.Minute
	onset := t0.Add(25 * time.Second)
	caps := []Caption{
		{Stream: "once", Onset: onset}, {Stream: "once", K: 1, Onset: onset.Add(period)},
		{Stream: "split", Onset: onset}, {Stream: "missed", Onset: onset}, {Stream: "later", Onset: onset},
	}
	rec := func(stream, id, rule string, startedAfterOnset time.Duration, k int) alerts.Record {
		at := onset.Add(time.Duration(k)*period + startedAfterOnset)
		return alerts.Record{StreamID: stream, AlertID: id, Rule: rule, StartedAt: at.Format(time.RFC3339Nano)}
	}
	arr := func(r alerts.Record, latency time.Duration) Arrival {
		started, _ := time.Parse(time.RFC3339Nano, r.StartedAt)
		return Arrival{At: started.Add(latency), Record: r}
	}
	rule := "counterfeit-offer"
	arrivals := map[string][]Arrival{
		"once": {
			arr(rec("once", "a0", rule, 200*time.Millisecond, 0), time.Second),
			arr(rec("once", "a0", rule, 200*time.Millisecond, 0), 5*time.Second), // its update
			arr(rec("once", "p0", "counterfeit-phrase", 0, 0), time.Second),      // another rule
			arr(rec("once", "a1", rule, 40*time.Second, 1), 2*time.Second),       // lagging, still loop 1
		},
		"split": {
			arr(rec("split", "s1", rule, 0, 0), 1500*time.Millisecond),
			arr(rec("split", "s2", rule, 9*time.Second, 0), time.Second),
		},
		"missed": {
			arr(rec("missed", "early", rule, -20*time.Second, 0), time.Second), // before the caption: stray
		},
		"unknown": {arr(rec("unknown", "u", rule, 0, 0), time.Second)},
		"later": {
			arr(rec("later", "l0", rule, 0, 0), time.Second),
			arr(rec("later", "l1", rule, 0, 1), time.Second), // a showing after the run's scored ones
		},
	}
	res, stray := ScoreCaptions(caps, arrivals, rule, period)
	require.Equal(t, 2, stray, "the early alert and the unknown stream's")
	byKey := map[string]CaptionResult{}
	for _, r := range res {
		byKey[r.Stream+"/"+string(rune('0'+r.K))] = r
	}
	require.Equal(t, []string{"a0"}, byKey["once/0"].AlertIDs)
	require.Equal(t, 1200*time.Millisecond, byKey["once/0"].Latency, "from onset to the first record")
	require.Equal(t, []string{"a1"}, byKey["once/1"].AlertIDs)
	require.Equal(t, 42*time.Second, byKey["once/1"].Latency)
	require.Equal(t, []string{"s1", "s2"}, byKey["split/0"].AlertIDs)
	require.Equal(t, 1500*time.Millisecond, byKey["split/0"].Latency)
	require.Empty(t, byKey["missed/0"].AlertIDs)
	require.Equal(t, []string{"l0"}, byKey["later/0"].AlertIDs, "l1 is neither scored nor stray")
}

func TestReconnectReasons(t *testing.T) {
	t0 := time.Now()
	ev := func(at time.Duration, state, err string) statusEvent {
		return statusEvent{at: t0.Add(at), v: monitor.StreamStatus{State: state, Error: err}}
	}
	status := map[string][]statusEvent{
		"a": {ev(time.Second, "reconnecting", "open rtmp://127.0.0.1:4211/live/bench-001: timed out after 10s"),
			ev(2*time.Second, "attached", "")},
		"b": {ev(time.Second, "reconnecting", "open rtmp://127.0.0.1:4211/live/bench-002: timed out after 10s"),
			ev(3*time.Second, "reconnecting", "no frame for 10s"),
			ev(20*time.Second, "reconnecting", "late: outside the span")},
	}
	got := reconnectReasons(status, t0, t0.Add(10*time.Second))
	require.Equal(t, []reasonCount{{"open URL: timed out after Ns", 2}, {"no frame for Ns", 1}}, got)
	require.Equal(t, "(no error: ended)", reasonOf(""))
	long := reasonOf(strings.Repeat("x", 200))
	require.True(t, strings.HasSuffix(long, "…"), "a cut reason says so")
}

func TestScrapeSums(t *testing.T) {
	text := `# HELP streamwatch_frames_dropped_total Sampled frames dropped.
# TYPE streamwatch_frames_dropped_total counter
streamwatch_frames_dropped_total 12
# HELP streamwatch_reconnects_total Reconnects by stream.
# TYPE streamwatch_reconnects_total counter
streamwatch_reconnects_total{stream="bench-001"} 2
streamwatch_reconnects_total{stream="bench-002"} 3
# HELP streamwatch_stream_lag_seconds Lag by stream.
# TYPE streamwatch_stream_lag_seconds gauge
streamwatch_stream_lag_seconds{stream="bench-001"} 0.5
# HELP streamwatch_frames_skipped_total Skipped.
# TYPE streamwatch_frames_skipped_total counter
streamwatch_frames_skipped_total{reason="deadline"} 4
streamwatch_frames_skipped_total{reason="budget"} 1
# HELP streamwatch_outbox_dropped_total Outbox.
# TYPE streamwatch_outbox_dropped_total counter
streamwatch_outbox_dropped_total 0
`
	s, err := ParseMetrics(text, time.Now())
	require.NoError(t, err)
	require.InDelta(t, 12, s.Sum(metricDropped), 1e-9)
	require.InDelta(t, 5, s.Sum(metricReconnects), 1e-9)
	require.Equal(t, map[string]float64{"bench-001": 2, "bench-002": 3}, s.ByStream(metricReconnects))
	require.InDelta(t, 5, s.Sum("streamwatch_frames_skipped_total"), 1e-9, "series without a stream label add up too")
	require.Equal(t, []string{"streamwatch_frames_skipped_total"}, s.Named("skipped", "outbox"))
	require.Equal(t, []string{"streamwatch_frames_dropped_total"}, s.Named("dropped", "outbox"))
	require.True(t, s.Has(metricLag))
	require.False(t, s.Has(metricInterval))
	require.Zero(t, s.Sum(metricInterval), "a missing metric sums to 0")
	_, err = ParseMetrics("streamwatch_x{ 1\n", time.Now())
	require.ErrorIs(t, err, ErrScrape)
}

func TestLineTee(t *testing.T) {
	var got []string
	var sink strings.Builder
	lt := &lineTee{w: &sink, fn: func(l []byte) { got = append(got, string(l)) }}
	for _, chunk := range []string{`{"msg":"a"}` + "\n" + `{"msg":"metr`, `ics listening"}` + "\n", "tail"} {
		n, err := lt.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	require.Equal(t, []string{`{"msg":"a"}`, `{"msg":"metrics listening"}`}, got, "whole lines, split writes joined")
	require.Equal(t, `{"msg":"a"}`+"\n"+`{"msg":"metrics listening"}`+"\ntail", sink.String(), "everything reaches the log")
}

// TestProcGroupStopsChildren starts real processes and checks that stopAll
// ends them: one that stops on SIGTERM, one that ignores it (killed after
// the grace), and one that has exited already.
func TestProcGroupStopsChildren(t *testing.T) {
	dir := t.TempDir()
	g := &procGroup{log: slog.New(slog.DiscardHandler)}
	polite, err := g.start("publisher", exec.Command("sleep", "600"), filepath.Join(dir, "polite.log"))
	require.NoError(t, err)
	stubborn, err := g.start("stubborn", exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`), filepath.Join(dir, "stubborn.log"))
	require.NoError(t, err)
	done, err := g.start("done", exec.Command("true"), filepath.Join(dir, "done.log"))
	require.NoError(t, err)
	<-done.done
	// The trap must be in place before the signal; "ready" comes after it.
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "stubborn.log"))
		return strings.Contains(string(b), "ready")
	}, 10*time.Second, 10*time.Millisecond)
	start := time.Now()
	g.stopAll(500 * time.Millisecond)
	require.True(t, polite.exited())
	require.True(t, stubborn.exited())
	require.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, stubborn.stop(time.Second), ErrExited, "killed: it did not exit cleanly")
	require.NoError(t, done.exitError())
}

func TestAllClosed(t *testing.T) {
	rule := "counterfeit-offer"
	a := func(id string, st alerts.State) Arrival {
		return Arrival{Record: alerts.Record{AlertID: id, Rule: rule, State: st}}
	}
	arrivals := map[string][]Arrival{
		"done":  {a("x", alerts.StateOpen), a("x", alerts.StateClosed)},
		"split": {a("y", alerts.StateOpen), a("y", alerts.StateClosed), a("z", alerts.StateOpen)},
		"other": {{Record: alerts.Record{AlertID: "p", Rule: "counterfeit-phrase", State: alerts.StateClosed}}},
	}
	require.True(t, AllClosed(arrivals, []string{"done"}, rule))
	require.False(t, AllClosed(arrivals, []string{"done", "split"}, rule), "an alert still open")
	require.False(t, AllClosed(arrivals, []string{"done", "other"}, rule), "no alert of the rule yet")
	require.False(t, AllClosed(arrivals, []string{"done", "none"}, rule))
}

// TestLagOverSpan reads each stream's lag from the scrapes inside the span:
// its last value, its highest and its growth (last quarter minus first).
func TestLagOverSpan(t *testing.T) {
	t0 := time.Now()
	sc := func(at time.Duration, growing, steady float64) Scrape {
		s, err := ParseMetrics(`# TYPE streamwatch_stream_lag_seconds gauge
streamwatch_stream_lag_seconds{stream="growing"} `+strconv.FormatFloat(growing, 'f', -1, 64)+`
streamwatch_stream_lag_seconds{stream="steady"} `+strconv.FormatFloat(steady, 'f', -1, 64)+`
# TYPE streamwatch_stream_sample_interval_seconds gauge
streamwatch_stream_sample_interval_seconds{stream="growing"} 2
streamwatch_stream_sample_interval_seconds{stream="steady"} 1
`, t0.Add(at))
		require.NoError(t, err)
		return s
	}
	scrapes := []Scrape{sc(-5*time.Second, 99, 99)} // before the span: left out
	for i := range 8 {
		scrapes = append(scrapes, sc(time.Duration(i)*5*time.Second, float64(i), 0.5))
	}
	last := sc(40*time.Second, 8, 0.5)
	var s Summary
	lags := (&run{}).lagOverSpan(&s, scrapes, t0, t0.Add(40*time.Second), last)
	require.InDelta(t, 8, lags["growing"].end, 1e-9)
	require.InDelta(t, 8, lags["growing"].max, 1e-9)
	// 9 values 0..8: the last quarter (2 values) 7.5 minus the first 0.5.
	require.InDelta(t, 7, lags["growing"].growth, 1e-9)
	require.InDelta(t, 0, lags["steady"].growth, 1e-9)
	require.InDelta(t, 8, *s.LagMaxS, 1e-9)
	require.InDelta(t, 7, *s.LagGrowthMaxS, 1e-9)
	require.InDelta(t, 4.25, *s.LagEndP50S, 1e-9, "median of the ends 8 and 0.5")
	require.InDelta(t, 1.5, *s.IntervalP50S, 1e-9)
	require.InDelta(t, 2, *s.IntervalMaxS, 1e-9)

	var none Summary
	require.Nil(t, (&run{}).lagOverSpan(&none, nil, t0, t0, Scrape{}))
	require.Nil(t, none.LagMaxS, "no metric: n/a")
	require.Contains(t, lagText(&none), "n/a")
}
