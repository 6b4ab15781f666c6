package monitor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamwatch/streamwatch/alerts"
)

// Metrics are the process-wide pipeline metrics. Labels never carry URLs or
// free text: rule ids come from the rules file and stream ids are validated.
type Metrics struct {
	FramesDecoded prometheus.Counter
	FramesSampled prometheus.Counter
	FramesDropped prometheus.Counter
	FramesSkipped *prometheus.CounterVec // by reason
	OCRSeconds    prometheus.Histogram
	LinesRead     prometheus.Counter
	LinesReused   prometheus.Counter
	Matches       *prometheus.CounterVec // by rule
	PublishErrors prometheus.Counter
	StreamUp      *prometheus.GaugeVec   // by stream
	Reconnects    *prometheus.CounterVec // by stream
	Gaps          *prometheus.CounterVec // by stream
	Unmonitored   *prometheus.CounterVec // by stream, seconds
	Alerts        *alerts.Metrics
}

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
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_frames_skipped_total",
			Help: "Frames of live sources skipped undecoded, by reason (live_edge: decoding fell behind the live edge).",
		}, []string{"reason"}),
		OCRSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamwatch_ocr_duration_seconds",
			Help:    "Time Tesseract spent reading one sampled frame.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
		LinesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_read_total",
			Help: "Text lines handed to Tesseract.",
		}),
		LinesReused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_ocr_lines_reused_total",
			Help: "Text lines not read again because their pixels had not changed since an earlier frame.",
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
	}
	reg.MustRegister(m.FramesDecoded, m.FramesSampled, m.FramesDropped, m.FramesSkipped, m.OCRSeconds, m.LinesRead, m.LinesReused, m.Matches, m.PublishErrors, m.StreamUp,
		m.Reconnects, m.Gaps, m.Unmonitored)
	m.Alerts = alerts.NewMetrics(reg)
	return m
}

// skipLiveEdge is the reason of frames skipped because decoding fell
// behind a live source's edge.
const skipLiveEdge = "live_edge"

// watch creates the series of a stream that begins to be watched:
// streamwatch_stream_up is 0 until it is attached.
func (m *Metrics) watch(streamID string) {
	m.StreamUp.WithLabelValues(streamID).Set(0)
}

// forget deletes the series of a stream no longer watched: a long-running
// worker would otherwise keep one per stream it ever watched.
func (m *Metrics) forget(streamID string) {
	for _, v := range []*prometheus.MetricVec{m.StreamUp.MetricVec, m.Reconnects.MetricVec, m.Gaps.MetricVec, m.Unmonitored.MetricVec} {
		v.DeleteLabelValues(streamID)
	}
}
