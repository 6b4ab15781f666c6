package pool

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pool's Prometheus metrics.
type Metrics struct {
	Assignments   prometheus.Gauge
	Capacity      prometheus.Gauge
	Handoffs      prometheus.Counter
	LeaseRenewals prometheus.Counter
	LeaseFailures prometheus.Counter
	// AckFailures counts acknowledgements of assignments that failed, by op
	// (ack, nak, term, in_progress).
	AckFailures *prometheus.CounterVec
}

// NewMetrics registers the pool's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Assignments: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamwatch_pool_assignments",
			Help: "Stream assignments this worker holds now."}),
		Capacity: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamwatch_pool_capacity",
			Help: "Most stream assignments this worker holds at once."}),
		Handoffs: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamwatch_pool_handoffs_total",
			Help: "Assignments handed back to the pool on drain or stop."}),
		LeaseRenewals: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamwatch_pool_lease_renewals_total",
			Help: "In-progress acks that kept an assignment leased."}),
		LeaseFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamwatch_pool_lease_failures_total",
			Help: "In-progress acks that failed; the lease may lapse and the stream move to another worker."}),
		AckFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamwatch_pool_ack_failures_total",
			Help: "Acknowledgements of assignments (op: ack, nak, term, in_progress) that failed; a failed ack or term means JetStream redelivers the assignment and the stream is watched again."},
			[]string{"op"}),
	}
	for _, op := range ackOps {
		m.AckFailures.WithLabelValues(string(op))
	}
	reg.MustRegister(m.Assignments, m.Capacity, m.Handoffs, m.LeaseRenewals, m.LeaseFailures, m.AckFailures)
	return m
}
