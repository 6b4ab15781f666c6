package monitor

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamwatch/streamwatch/alerts"
)

// Metrics are the process-wide pipeline metrics. Labels never carry URLs or
// free text: rule ids come from the rules file and stream ids are validated.
type Metrics struct {
	FramesDecoded prometheus.Counter
	FramesSampled prometheus.Counter
	FramesDropped prometheus.Counter
	// LiveEdgeSkipped counts frames of live sources skipped undecoded
	// because decoding fell behind the live edge.
	LiveEdgeSkipped prometheus.Counter
	OCRSeconds      prometheus.Histogram
	LinesRead       prometheus.Counter
	LinesReused     prometheus.Counter
	LinesQuick      prometheus.Counter
	LinesLight      prometheus.Counter
	Matches         *prometheus.CounterVec // by rule
	PublishErrors   prometheus.Counter
	StreamUp        *prometheus.GaugeVec   // by stream
	Reconnects      *prometheus.CounterVec // by stream
	Gaps            *prometheus.CounterVec // by stream
	Unmonitored     *prometheus.CounterVec // by stream, seconds
	// FramesSkipped counts sampled frames not read because they were past
	// their deadline when their turn came (see Options.Deadline).
	FramesSkipped prometheus.Counter
	// SampleInterval is each stream's effective sampling interval: the
	// media time between the frames actually read (drops and skips make it
	// longer than --sample-interval), smoothed.
	SampleInterval *prometheus.GaugeVec // by stream, seconds
	// Lag is, per stream, how long after it was decoded the latest frame's
	// reading was done.
	Lag    *prometheus.GaugeVec // by stream, seconds
	Alerts *alerts.Metrics

	mu    sync.Mutex
	loads map[string]StreamLoad
}

// StreamLoad is how one stream keeps up: what the SampleInterval and Lag
// series show, for status.
type StreamLoad struct {
	StreamID string  `json:"stream_id"`
	Interval float64 `json:"sample_interval_seconds"`
	Lag      float64 `json:"lag_seconds"`
}

// intervalSmoothing is the weight of the latest interval in the smoothed
// effective interval.
const intervalSmoothing = 0.25

// NewMetrics registers the pipeline metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		FramesDecoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_frames_decoded_total",
			Help: "Video frames decoded from sources.",
		}),
		FramesSampled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_frames_sampled_total",
			Help: "Decoded frames chosen by the sampler for reading.",
		}),
		FramesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_frames_dropped_total",
			Help: "Sampled frames dropped because OCR was busy (latest frame wins).",
		}),
		LiveEdgeSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_live_edge_skipped_frames_total",
			Help: "Frames of live sources skipped undecoded because decoding fell behind the live edge.",
		}),
		OCRSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamwatch_ocr_duration_seconds",
			Help:    "Time the OCR engine spent reading one sampled frame.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
		LinesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_read_total",
			Help: "Text lines handed to the OCR engine.",
		}),
		LinesReused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_reused_total",
			Help: "Text lines not read again because their pixels had not changed since an earlier frame.",
		}),
		LinesLight: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_light_total",
			Help: "Text lines read lightly (a first try, and a Chinese one when that reads as junk) because lines waited more than a second for a turn of the OCR engine (live runs only).",
		}),
		LinesQuick: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_quick_total",
			Help: "Text lines read with the engine's first try only, because earlier reads where they lie were junk (a busy background); part of streamwatch_ocr_lines_read_total.",
		}),
		Matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_rule_matches_total",
			Help: "Sampled frames at which a rule held, by rule.",
		}, []string{"rule"}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_publish_errors_total",
			Help: "Alert records a sink failed to take after its retries.",
		}),
		StreamUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamwatch_stream_up",
			Help: "1 while the stream is attached and decoding, 0 otherwise.",
		}, []string{"stream"}),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_reconnects_total",
			Help: "Reconnect attempts to live sources after a failure, end or stall, by stream.",
		}, []string{"stream"}),
		Gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_gaps_total",
			Help: "Unmonitored spans of live streams that ended with a reconnect, by stream.",
		}, []string{"stream"}),
		Unmonitored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_unmonitored_seconds_total",
			Help: "Wall-clock seconds of live streams that went unwatched between a failure and the next frame, by stream.",
		}, []string{"stream"}),
		FramesSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_frames_skipped_total",
			Help: "Sampled frames of live streams not read because they were older than their deadline when their turn came.",
		}),
		SampleInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamwatch_stream_sample_interval_seconds",
			Help: "Effective media time between the frames of a stream that were read (smoothed), by stream.",
		}, []string{"stream"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamwatch_stream_lag_seconds",
			Help: "Wall-clock seconds from decoding a stream's latest read frame to the end of its reading, by stream.",
		}, []string{"stream"}),
		loads: map[string]StreamLoad{},
	}
	reg.MustRegister(m.FramesDecoded, m.FramesSampled, m.FramesDropped, m.OCRSeconds, m.LinesRead, m.LinesReused, m.LinesQuick, m.LinesLight, m.Matches, m.PublishErrors, m.StreamUp,
		m.Reconnects, m.Gaps, m.Unmonitored, m.FramesSkipped, m.SampleInterval, m.Lag, m.LiveEdgeSkipped)
	m.Alerts = alerts.NewMetrics(reg)
	return m
}

// watch creates the series of a stream that begins to be watched:
// streamwatch_stream_up is 0 until it is attached.
func (m *Metrics) watch(streamID string) {
	m.StreamUp.WithLabelValues(streamID).Set(0)
}

// forget deletes the series of a stream no longer watched: a long-running
// worker would otherwise keep one per stream it ever watched.
func (m *Metrics) forget(streamID string) {
	for _, v := range []*prometheus.MetricVec{m.StreamUp.MetricVec, m.Reconnects.MetricVec, m.Gaps.MetricVec, m.Unmonitored.MetricVec,
		m.SampleInterval.MetricVec, m.Lag.MetricVec} {
		v.DeleteLabelValues(streamID)
	}
	m.mu.Lock()
	delete(m.loads, streamID)
	m.mu.Unlock()
}

// observeRead keeps a stream's load in step with a frame whose reading is
// done: spanMS of media time after the frame read before it (negative for
// the first), queued when it was decoded.
func (m *Metrics) observeRead(streamID string, spanMS int64, queued time.Time) {
	m.mu.Lock()
	l := m.loads[streamID]
	if iv := float64(spanMS) / 1000; spanMS >= 0 {
		if l.Interval > 0 {
			iv = l.Interval + intervalSmoothing*(iv-l.Interval)
		}
		l.Interval = iv
	}
	l.StreamID = streamID
	if !queued.IsZero() {
		l.Lag = max(time.Since(queued), 0).Seconds()
	}
	m.loads[streamID] = l
	m.mu.Unlock()
	m.SampleInterval.WithLabelValues(streamID).Set(l.Interval)
	m.Lag.WithLabelValues(streamID).Set(l.Lag)
}

// Loads returns how each stream watched now keeps up, by stream id.
func (m *Metrics) Loads() []StreamLoad {
	m.mu.Lock()
	out := make([]StreamLoad, 0, len(m.loads))
	for _, l := range m.loads {
		out = append(out, l)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StreamID < out[j].StreamID })
	return out
}
