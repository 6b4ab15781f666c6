package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	Records      *prometheus.CounterVec // by state
	OpenSegments prometheus.Gauge
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
	}
	for _, s := range []string{StateOpen, StateUpdate, StateClosed} {
		m.Records.WithLabelValues(s)
	}
	reg.MustRegister(m.Records, m.OpenSegments)
	return m
}

// EnsureStream creates the alert stream if it is missing: file storage,
// subjects streamwatch.alerts.>, and a two-minute duplicate window for
// Nats-Msg-Id dedupe.
func EnsureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{SubjectPrefix + ">"},
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
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
