package benchlive

import (
	"math"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Summary is the outcome of one live run, as the JSON line prints it. A
// pointer is null when there was nothing to measure (no alert, no such metric).
type Summary struct {
	Started   string  `json:"started"`
	Version   string  `json:"version"`
	Clip      string  `json:"clip"`
	Streams   int     `json:"streams"`
	Loop      bool    `json:"loop"`
	SpanS     float64 `json:"span_s"`
	StaggerMS int64   `json:"stagger_ms"`

	WorkerCPUS      float64 `json:"worker_cpu_s"`
	CPUPerStreamMin float64 `json:"cpu_s_per_stream_min"`
	WorkerCores     float64 `json:"worker_cores"`
	MachineCores    float64 `json:"machine_busy_cores"`
	NginxCores      float64 `json:"nginx_cores"`
	PublisherCores  float64 `json:"publishers_cores"`
	LoadAvg         string  `json:"loadavg"`
	// DecodeRef is the machine's speed, measured before the run;
	// CPUVsDecodeAll is CPUPerStreamMin over its every-frame figure.
	DecodeRef
	CPUVsDecodeAll float64 `json:"cpu_s_per_stream_min_vs_decode_all"`

	FramesDecoded float64  `json:"frames_decoded"`
	FramesSampled float64  `json:"frames_sampled"`
	FramesDropped float64  `json:"frames_dropped"`
	FramesSkipped *float64 `json:"frames_skipped"`

	Captions    int      `json:"captions"`
	ExactlyOnce int      `json:"exactly_once"`
	Split       int      `json:"split"`
	Missed      int      `json:"missed"`
	Stray       int      `json:"stray_alerts"`
	LatencyP50S *float64 `json:"latency_p50_s"`
	LatencyP95S *float64 `json:"latency_p95_s"`
	LatencyMaxS *float64 `json:"latency_max_s"`

	RSSIdleMB       float64 `json:"rss_idle_mb"`
	RSSSpanStartMB  float64 `json:"rss_span_start_mb"`
	RSSSpanEndMB    float64 `json:"rss_span_end_mb"`
	RSSPeakMB       float64 `json:"rss_peak_mb"`
	RSSPerStreamMB  float64 `json:"rss_per_stream_mb"`
	RSSSlopeMBPer10 float64 `json:"rss_slope_mb_per_10min"`
	// RSSLateSlopeMBPer10 is the slope over the span's second half: the
	// Go heap and malloc's arenas grow to their working size in the first
	// minutes, and memory that keeps growing after them is what leaks.
	RSSLateSlopeMBPer10 float64 `json:"rss_slope_second_half_mb_per_10min"`

	Reconnects      float64 `json:"reconnects"`
	ReconnectEvents int     `json:"reconnect_events"`

	LagEndP50S    *float64 `json:"lag_end_p50_s"`
	LagMaxS       *float64 `json:"lag_max_s"`
	LagGrowthMaxS *float64 `json:"lag_growth_max_s"`
	IntervalP50S  *float64 `json:"sample_interval_p50_s"`
	IntervalMaxS  *float64 `json:"sample_interval_max_s"`

	PublishersFailed int     `json:"publishers_failed"`
	WorkerStopS      float64 `json:"worker_stop_s"`
	WorkerStopError  string  `json:"worker_stop_error,omitempty"`
	SampleErrors     int     `json:"sample_errors"`

	reasons []reasonCount
	rows    []streamRow
	rssRows []rssRow
}

// streamRow is one line of the per-stream table.
type streamRow struct {
	id             string
	attachedAfter  *time.Duration
	reconnects     int
	alerts, shown  int // alert ids, caption showings
	latency        *time.Duration
	lagEnd, lagMax *float64
	publisherError string
}

// rssRow is the worker at one moment of the span, for RSS over time.
type rssRow struct {
	at  time.Duration // since the first publisher started
	rss int64
}

const mb = 1 << 20

func (r *run) summarize(a, b snapshot, end ProcSample, stopTook time.Duration, stopErr error) *Summary {
	span := b.proc.At.Sub(a.proc.At)
	cpu := b.proc.CPU - a.proc.CPU
	n := float64(r.cfg.Streams)
	s := &Summary{
		Started: r.tl.firstStart.UTC().Format(time.RFC3339), Version: binVersion(r.cfg.Bin), Clip: r.clip.path,
		Streams: r.cfg.Streams, Loop: r.tl.loop, SpanS: round(span.Seconds(), 1), StaggerMS: r.cfg.Stagger.Milliseconds(),
		WorkerCPUS:      round(cpu.Seconds(), 2),
		CPUPerStreamMin: round(cpu.Seconds()/(n*span.Minutes()), 3),
		WorkerCores:     round(cpu.Seconds()/span.Seconds(), 3),
		MachineCores:    round(busyCores(a.machine, b.machine), 2),
		NginxCores:      round((b.peers.nginx-a.peers.nginx).Seconds()/span.Seconds(), 3),
		PublisherCores:  round((b.peers.publishers-a.peers.publishers).Seconds()/span.Seconds(), 3),
		LoadAvg:         strings.TrimSpace(a.machine.load1 + " " + a.machine.load5),
		FramesDecoded:   b.scrape.Sum(metricDecoded) - a.scrape.Sum(metricDecoded),
		FramesSampled:   b.scrape.Sum(metricSampled) - a.scrape.Sum(metricSampled),
		FramesDropped:   b.scrape.Sum(metricDropped) - a.scrape.Sum(metricDropped),
		Reconnects:      b.scrape.Sum(metricReconnects) - a.scrape.Sum(metricReconnects),
		RSSIdleMB:       round(float64(r.idle.RSS)/mb, 1),
		RSSSpanStartMB:  round(float64(a.proc.RSS)/mb, 1),
		RSSSpanEndMB:    round(float64(b.proc.RSS)/mb, 1),
		RSSPeakMB:       round(float64(end.PeakRSS)/mb, 1),
		RSSPerStreamMB:  round(float64(b.proc.RSS-r.idle.RSS)/mb/n, 1),
		WorkerStopS:     round(stopTook.Seconds(), 2),
	}
	if stopErr != nil {
		s.WorkerStopError = stopErr.Error()
	}
	if s.DecodeRef = r.ref; r.ref.AllPerMin > 0 {
		s.CPUVsDecodeAll = round(s.CPUPerStreamMin/r.ref.AllPerMin, 3)
	}
	if names := b.scrape.Named("skipped", "outbox"); len(names) > 0 {
		v := 0.0
		for _, name := range names {
			v += b.scrape.Sum(name) - a.scrape.Sum(name)
		}
		s.FramesSkipped = &v
	}
	arrivals, status := r.coll.snapshot()
	s.reasons = reconnectReasons(status, a.proc.At, b.proc.At)
	for _, rc := range s.reasons {
		s.ReconnectEvents += rc.n
	}
	results := r.scoreCaptions(s, arrivals)
	r.mu.Lock()
	procs, scrapes, errs := r.procs, r.scrapes, r.errs
	r.mu.Unlock()
	s.SampleErrors = len(errs)
	s.RSSSlopeMBPer10, s.RSSLateSlopeMBPer10, s.rssRows = r.rssOverTime(procs, a.proc.At, b.proc.At)
	lags := r.lagOverSpan(s, scrapes, a.proc.At, b.proc.At, b.scrape)
	s.rows = r.streamRows(status, results, lags, a.proc.At, b.proc.At)
	for _, row := range s.rows {
		if row.publisherError != "" {
			s.PublishersFailed++
		}
	}
	return s
}

// scoreCaptions lists the caption showings the run covered, scores them and
// fills the caption figures of s.
func (r *run) scoreCaptions(s *Summary, arrivals map[string][]Arrival) []CaptionResult {
	var caps []Caption
	shows := 1 // played once: one showing per stream
	if r.tl.loop {
		shows = math.MaxInt
	}
	for _, st := range r.streams {
		for k := range shows {
			onset := st.start.Add(r.clip.captionAt + time.Duration(k)*r.clip.length)
			if r.tl.loop && onset.Add(r.clip.captionLen).After(r.tl.spanEnd) {
				break // looped: showings not over within the span are not scored
			}
			caps = append(caps, Caption{Stream: st.id, K: k, Onset: onset})
		}
	}
	results, stray := ScoreCaptions(caps, arrivals, r.cfg.Rule, r.clip.length)
	s.Captions, s.Stray = len(results), stray
	var lat []float64
	for _, res := range results {
		switch len(res.AlertIDs) {
		case 0:
			s.Missed++
		case 1:
			s.ExactlyOnce++
		default:
			s.Split++
		}
		if len(res.AlertIDs) > 0 {
			lat = append(lat, res.Latency.Seconds())
		}
	}
	if len(lat) > 0 {
		s.LatencyP50S = ptr(round(Median(lat), 2))
		s.LatencyP95S = ptr(round(Percentile(lat, 95), 2))
		s.LatencyMaxS = ptr(round(Percentile(lat, 100), 2))
	}
	return results
}

// rssOverTime returns the slope of the worker's RSS over the span and over
// its second half (least squares, MB per 10 minutes), and one row per
// cfg.Every of it.
func (r *run) rssOverTime(procs []ProcSample, from, to time.Time) (whole, late float64, rows []rssRow) {
	var xs, ys, lateX, lateY []float64
	half := to.Sub(from).Minutes() / 2
	next := from
	for _, p := range procs {
		if p.At.Before(from) || p.At.After(to) {
			continue
		}
		x, y := p.At.Sub(from).Minutes(), float64(p.RSS)/mb
		xs, ys = append(xs, x), append(ys, y)
		if x >= half {
			lateX, lateY = append(lateX, x), append(lateY, y)
		}
		if !p.At.Before(next) {
			rows = append(rows, rssRow{at: p.At.Sub(r.tl.firstStart), rss: p.RSS})
			next = next.Add(r.cfg.Every)
		}
	}
	return round(10*slope(xs, ys), 1), round(10*slope(lateX, lateY), 1), rows
}

// slope is the least-squares slope of ys over xs; 0 for fewer than two points.
func slope(xs, ys []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// streamLag is one stream's lag over the span.
type streamLag struct{ end, max, growth float64 }

// lagOverSpan reads streamwatch_stream_lag_seconds (and the sampling
// interval) from the scrapes of the span, when the worker exports them.
func (r *run) lagOverSpan(s *Summary, scrapes []Scrape, from, to time.Time, last Scrape) map[string]streamLag {
	series := map[string][]float64{}
	for _, sc := range scrapes {
		if sc.At.Before(from) || sc.At.After(to) {
			continue
		}
		for id, v := range sc.ByStream(metricLag) {
			series[id] = append(series[id], v)
		}
	}
	series = mergeLast(series, last.ByStream(metricLag))
	if iv := last.ByStream(metricInterval); len(iv) > 0 {
		vals := values(iv)
		s.IntervalP50S, s.IntervalMaxS = ptr(round(Median(vals), 2)), ptr(round(Percentile(vals, 100), 2))
	}
	if len(series) == 0 {
		return nil
	}
	lags := map[string]streamLag{}
	var ends []float64
	var lmax, gmax float64
	for id, vs := range series {
		q := max(len(vs)/4, 1)
		l := streamLag{end: vs[len(vs)-1], max: Percentile(vs, 100), growth: mean(vs[len(vs)-q:]) - mean(vs[:q])}
		lags[id] = l
		ends = append(ends, l.end)
		lmax, gmax = math.Max(lmax, l.max), math.Max(gmax, l.growth)
	}
	s.LagEndP50S, s.LagMaxS, s.LagGrowthMaxS = ptr(round(Median(ends), 2)), ptr(round(lmax, 2)), ptr(round(gmax, 2))
	return lags
}

func mergeLast(series map[string][]float64, last map[string]float64) map[string][]float64 {
	for id, v := range last {
		series[id] = append(series[id], v)
	}
	return series
}

func values(m map[string]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// streamRows builds the per-stream table.
func (r *run) streamRows(status map[string][]statusEvent, results []CaptionResult, lags map[string]streamLag, from, to time.Time) []streamRow {
	byStream := map[string][]CaptionResult{}
	for _, res := range results {
		byStream[res.Stream] = append(byStream[res.Stream], res)
	}
	rows := make([]streamRow, 0, len(r.streams))
	for _, st := range r.streams {
		row := streamRow{id: st.id, publisherError: r.publisherError(st)}
		for _, e := range status[st.id] {
			if e.v.State == "attached" && row.attachedAfter == nil {
				d := e.at.Sub(st.start)
				row.attachedAfter = &d
			}
			if e.v.State == "reconnecting" && !e.at.Before(from) && e.at.Before(to) {
				row.reconnects++
			}
		}
		var lat []float64
		for _, res := range byStream[st.id] {
			row.shown++
			row.alerts += len(res.AlertIDs)
			if len(res.AlertIDs) > 0 {
				lat = append(lat, res.Latency.Seconds())
			}
		}
		if len(lat) > 0 {
			d := time.Duration(Median(lat) * float64(time.Second))
			row.latency = &d
		}
		if l, ok := lags[st.id]; ok {
			row.lagEnd, row.lagMax = ptr(l.end), ptr(l.max)
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	return rows
}

// publisherError says how a publisher failed: it exited with an error, or
// ended before its clip did (or, looping, before the run did).
func (r *run) publisherError(st stream) string {
	if !st.pub.exited() {
		return ""
	}
	if err := st.pub.exitError(); err != nil && !st.pub.exitedAt.After(r.tl.runEnd) {
		return err.Error()
	}
	endBy := st.start.Add(r.clip.length - 2*time.Second)
	if r.tl.loop {
		endBy = r.tl.runEnd
	}
	if st.pub.exitedAt.Before(endBy) { // looped, the bench stops them after runEnd
		return "ended after " + st.pub.exitedAt.Sub(st.start).Round(100*time.Millisecond).String() + ": " + lastLines(st.pub.log.Name(), 2)
	}
	return ""
}

func binVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func ptr[T any](v T) *T { return &v }
