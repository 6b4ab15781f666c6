package pool

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailedAcksAreLoggedAndCounted(t *testing.T) {
	p := newTestPool(t)
	p.submit("s1")
	m := NewMetrics(prometheus.NewRegistry())
	var logs syncBuffer
	w, err := NewWorker(Options{Store: p.store, ID: "w", Capacity: 1, Watcher: p.watch.for_("w"), Metrics: m,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch, err := p.store.consumer.Fetch(1, jetstream.FetchContext(ctx))
	require.NoError(t, err)
	msg := <-batch.Messages()
	require.NotNil(t, msg)

	for _, op := range ackOps {
		require.Zero(t, testutilValue(m.AckFailures.WithLabelValues(string(op))), "every op is exported from the start: %s", op)
	}
	require.True(t, w.settle(opInProgress, msg, w.log), "a lease renewal of a held message")
	require.True(t, w.settle(opAck, msg, w.log))
	require.Empty(t, logs.String())

	// The message is settled: whatever comes after fails, as an ack would
	// when JetStream or the connection is gone.
	for _, op := range []ackOp{opAck, opNak, opTerm, opInProgress} {
		require.False(t, w.settle(op, msg, w.log), "%s of a settled message", op)
		require.Equal(t, 1.0, testutilValue(m.AckFailures.WithLabelValues(string(op))), "%s counted", op)
		require.Contains(t, logs.String(), "op="+string(op))
	}
	require.Contains(t, logs.String(), "assignment not acknowledged")
	require.Contains(t, logs.String(), "subject="+AssignPrefix+"s1")
}

func TestNewWorkerRefusesIncompleteOptions(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	_, err := NewWorker(Options{ID: "w", Capacity: 1, Metrics: m})
	require.ErrorIs(t, err, ErrOptions)
	_, err = NewWorker(Options{Store: &Store{}, Watcher: WatchFunc(nil), ID: "w", Capacity: 0, Metrics: m})
	require.ErrorIs(t, err, ErrOptions)
}
