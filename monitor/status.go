package monitor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/streamwatch/streamwatch/ingest"
)

// StatusSubject is the NATS subject of a stream's status events.
func StatusSubject(streamID string) string { return "streamwatch.streams." + streamID + ".status" }

// StreamStatus is the JSON published on StatusSubject for each change of a
// stream's state, so that auditors can see which spans went unmonitored.
type StreamStatus struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state"` // attached, reconnecting, gap, ended
	At       string `json:"at"`    // RFC 3339, UTC, ms
	MediaMS  int64  `json:"media_ms"`
	Attempt  int    `json:"attempt"`
	DelayMS  int64  `json:"delay_ms,omitempty"` // reconnecting: wait before the attempt
	Error    string `json:"error,omitempty"`    // credentials redacted
	// Reason says why an ended stream that was asked to stop ended:
	// "stopped", followed by the cause when there is one ("stopped:
	// terminated signal received", "stopped: pool: stream stopped").
	Reason string `json:"reason,omitempty"`
	Gap    *Gap   `json:"gap,omitempty"`
}

// Gap is an unmonitored span in media time and wall-clock.
type Gap struct {
	FromMS int64  `json:"from_ms"`
	ToMS   int64  `json:"to_ms"`
	From   string `json:"from"`
	To     string `json:"to"`
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewStreamStatus turns an ingest status change into its published form.
func NewStreamStatus(streamID string, st ingest.Status) StreamStatus {
	out := StreamStatus{StreamID: streamID, State: string(st.State), At: st.At.UTC().Format(timeFormat),
		MediaMS: st.MediaMS, Attempt: st.Attempt, DelayMS: st.Delay.Milliseconds()}
	if st.Err != nil {
		// ingest names URLs redacted; RedactText catches anything a peer put in an error.
		out.Error = ingest.RedactText(st.Err.Error())
	}
	out.Reason = stopReason(st.Stopped)
	if g := st.Gap; g != nil {
		out.Gap = &Gap{FromMS: g.FromMS, ToMS: g.ToMS, From: g.From.UTC().Format(timeFormat), To: g.To.UTC().Format(timeFormat)}
	}
	return out
}

// stopReason is the Reason of a stream stopped for cause, "" for none.
func stopReason(cause error) string {
	switch {
	case cause == nil:
		return ""
	case errors.Is(cause, context.Canceled) && cause.Error() == context.Canceled.Error():
		return "stopped" // no cause given: nothing more to say
	}
	return "stopped: " + ingest.RedactText(cause.Error())
}

// observeStatus keeps the stream's metrics in step with its state.
func (m *Metrics) observeStatus(streamID string, st ingest.Status) {
	switch st.State {
	case ingest.StateAttached:
		m.StreamUp.WithLabelValues(streamID).Set(1)
	case ingest.StateReconnecting:
		m.StreamUp.WithLabelValues(streamID).Set(0)
		m.Reconnects.WithLabelValues(streamID).Inc()
	case ingest.StateGap:
		m.Gaps.WithLabelValues(streamID).Inc()
		m.Unmonitored.WithLabelValues(streamID).Add(max(st.Gap.To.Sub(st.Gap.From), 0).Seconds())
	case ingest.StateEnded:
		m.StreamUp.WithLabelValues(streamID).Set(0)
	}
}

func logStatus(log *slog.Logger, url string, st ingest.Status) {
	switch st.State {
	case ingest.StateAttached:
		i := st.Info
		log.Info("attached", "url", ingest.Redact(url), "attempt", st.Attempt, "width", i.Width, "height", i.Height,
			"fps", i.FrameRate, "codec", i.Codec, "live", i.Live, "orientation", i.Orientation)
	case ingest.StateReconnecting:
		// ingest logs the failure itself, with the delay.
	case ingest.StateGap:
		log.Warn("unmonitored gap", "from_ms", st.Gap.FromMS, "to_ms", st.Gap.ToMS,
			"seconds", st.Gap.To.Sub(st.Gap.From).Round(time.Millisecond).Seconds())
	case ingest.StateEnded:
		switch {
		case st.Err != nil:
			log.Info("stream ended", "media_ms", st.MediaMS, "err", st.Err)
		case st.Stopped != nil:
			log.Info("stream ended", "media_ms", st.MediaMS, "reason", stopReason(st.Stopped))
		default:
			log.Info("stream ended", "media_ms", st.MediaMS)
		}
	}
}
