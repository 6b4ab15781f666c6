package pool

import (
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// ackOp is one way of settling (or renewing) an assignment message, as in
// the op label of streamwatch_pool_ack_failures_total.
type ackOp string

// Ways of settling an assignment message.
const (
	opAck        ackOp = "ack"         // the stream ended or was stopped: done with it
	opNak        ackOp = "nak"         // handed back: another worker takes it now
	opTerm       ackOp = "term"        // failed or unreadable: never redelivered
	opInProgress ackOp = "in_progress" // the lease renewed
)

// ackOps lists every ackOp, for the metric's label values.
var ackOps = []ackOp{opAck, opNak, opTerm, opInProgress}

// settle sends op for msg. A failure is logged on log and counted, since
// nothing else would tell of it: a failed ack or term means JetStream
// redelivers the assignment after the ack wait and a stream that ended is
// watched again; a failed nak means the stream waits for its lease to lapse.
// It reports whether op was sent.
func (w *Worker) settle(op ackOp, msg jetstream.Msg, log *slog.Logger) bool {
	var err error
	switch op {
	case opAck:
		err = msg.Ack()
	case opNak:
		err = msg.Nak()
	case opTerm:
		err = msg.Term()
	case opInProgress:
		err = msg.InProgress()
	}
	if err != nil {
		w.o.Metrics.AckFailures.WithLabelValues(string(op)).Inc()
		log.Warn("assignment not acknowledged", "op", string(op), "subject", msg.Subject(), "err", err)
		return false
	}
	return true
}
