package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// StreamName is the JetStream stream that stores alert records.
const StreamName = "STREAMWATCH_ALERTS"

// Sink receives alert records in the order a stream produces them.
type Sink interface {
	Publish(ctx context.Context, r Record) error
}

// Metrics count what the tracker and the sinks do.
type Metrics struct {
	Records       *prometheus.CounterVec // by state
	OpenSegments  prometheus.Gauge
	OutboxDropped prometheus.Counter
	OutboxWaiting prometheus.Gauge
}

// NewMetrics registers the alert metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamwatch_alert_records_total",
			Help: "Alert records produced, by state (open, update, closed).",
		}, []string{"state"}),
		OpenSegments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamwatch_open_segments",
			Help: "Suspect segments currently open.",
		}),
		OutboxDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamwatch_outbox_dropped_total",
			Help: "Update records dropped because the outbox was full (open and closed records are never dropped).",
		}),
		OutboxWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamwatch_outbox_records",
			Help: "Alert records waiting in the on-disk outbox for NATS.",
		}),
	}
	for _, s := range States() {
		m.Records.WithLabelValues(string(s))
	}
	reg.MustRegister(m.Records, m.OpenSegments, m.OutboxDropped, m.OutboxWaiting)
	return m
}

// StreamOptions are the retention settings of the alert stream.
type StreamOptions struct {
	MaxAge   time.Duration // records older than this are removed; 0 keeps them
	MaxBytes int64         // the oldest records go beyond this size; 0 is no limit
	// Duplicates is the dedupe window for Nats-Msg-Id. Default and minimum 2m.
	Duplicates time.Duration
}

// EnsureStream creates the alert stream with default retention if it is
// missing; see EnsureStreamWith.
func EnsureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	return EnsureStreamWith(ctx, js, StreamOptions{})
}

// EnsureStreamWith creates or updates the alert stream: file storage,
// subjects streamwatch.alerts.>, the retention of o, and a duplicate window
// of at least two minutes for Nats-Msg-Id dedupe.
func EnsureStreamWith(ctx context.Context, js jetstream.JetStream, o StreamOptions) (jetstream.Stream, error) {
	dup := max(o.Duplicates, 2*time.Minute)
	if o.MaxAge > 0 && dup > o.MaxAge {
		dup = o.MaxAge
	}
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{SubjectPrefix + ">"},
		Storage:    jetstream.FileStorage,
		Duplicates: dup,
		MaxAge:     o.MaxAge,
		MaxBytes:   maxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: create stream %s: %w", StreamName, err)
	}
	return s, nil
}

// JetStreamSink publishes each record to streamwatch.alerts.<stream_id> and
// waits for the server's acknowledgement.
type JetStreamSink struct {
	JS jetstream.JetStream
	// Attempts is how often a publish is tried before giving up. Default 5.
	Attempts int
}

// Publish sends r with its Nats-Msg-Id, retrying with backoff.
func (s *JetStreamSink) Publish(ctx context.Context, r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("alerts: encode record: %w", err)
	}
	msg := &nats.Msg{Subject: r.Subject(), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.MsgID())
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff := 100 * time.Millisecond
	for i := 1; ; i++ {
		_, err = s.JS.PublishMsg(ctx, msg)
		if err == nil || i == attempts || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff *= 2
	}
	if err != nil {
		return fmt.Errorf("alerts: publish %s: %w", r.MsgID(), err)
	}
	return nil
}

// JSONLines writes each record as one line of JSON.
type JSONLines struct {
	mu sync.Mutex
	W  io.Writer
}

// Publish writes r and a newline.
func (j *JSONLines) Publish(_ context.Context, r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("alerts: encode record: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.W.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("alerts: write record: %w", err)
	}
	return nil
}

// Printer writes each record as one line a person can read.
type Printer struct {
	mu sync.Mutex
	W  io.Writer
}

// Publish prints r.
func (p *Printer) Publish(_ context.Context, r Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := fmt.Fprintln(p.W, FormatLine(r))
	return err
}

// LogPrinter logs each record as one log entry ("alert", at info level), for
// a process whose log is JSON: the Printer's lines would break it.
type LogPrinter struct {
	Log *slog.Logger
}

// Publish logs r.
func (p LogPrinter) Publish(ctx context.Context, r Record) error {
	text := ""
	if len(r.Evidence) > 0 {
		text = r.Evidence[0].Text
	}
	p.Log.LogAttrs(ctx, slog.LevelInfo, "alert", slog.String("component", "alerts"),
		slog.String("state", string(r.State)), slog.String("severity", string(r.Severity)),
		slog.String("rule", r.Rule), slog.String("stream", r.StreamID),
		slog.Int64("start_ms", r.StartMS), slog.Int64("end_ms", r.EndMS),
		slog.Any("brands", r.Brands), slog.Any("phrases", r.Phrases),
		slog.String("alert_id", r.AlertID), slog.String("updated_at", r.UpdatedAt), slog.String("text", text))
	return nil
}

// FormatLine renders a record as one readable line.
func FormatLine(r Record) string {
	text := ""
	if len(r.Evidence) > 0 {
		text = fmt.Sprintf(" %q", r.Evidence[0].Text)
	}
	return fmt.Sprintf("ALERT %-6s %-6s %s rule=%s stream=%s %s–%s brands=%s phrases=%s id=%s%s",
		r.State, r.Severity, r.UpdatedAt, r.Rule, r.StreamID, fmtMS(r.StartMS), fmtMS(r.EndMS),
		strings.Join(r.Brands, ","), strings.Join(r.Phrases, ","), r.AlertID, text)
}

func fmtMS(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Truncate(100 * time.Millisecond).String()
}

// Multi sends each record to every sink in turn and joins their errors, so
// one failing sink does not starve the others.
type Multi []Sink

// Publish sends r to every sink.
func (m Multi) Publish(ctx context.Context, r Record) error {
	var errs []error
	for _, s := range m {
		if err := s.Publish(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
