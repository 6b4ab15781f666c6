// Package pool shares streams among workers through NATS JetStream: a worker
// takes stream assignments from a work-queue stream, keeps each leased while
// it watches the stream, and hands them back on drain.
//
// It owns:
//   - the JetStream objects of the pool (store.go): the assignment stream and
//     its consumer, the buckets of stream entries (State: queued, watching,
//     failed), worker heartbeats and pushed rules, and Submit, Stop and
//     Status for the commands;
//   - the Worker (worker.go): fetching up to its capacity, leases renewed by
//     in-progress acks, stop requests, pushed rules, the drain that hands
//     every stream back; and its bookkeeping in the buckets (worker_kv.go):
//     its claim on a stream's entry, its heartbeat, the pushed rules;
//   - settling assignment messages (ack.go): every ack, nak, term and
//     in-progress ack is checked, and a failure logged and counted
//     (streamwatch_pool_ack_failures_total), since it means a stream watched
//     twice or waiting for its lease to lapse;
//   - the pool's metrics (metrics.go).
//
// What a stream is watched with is the Watcher cmd hands in (monitor.Run).
package pool
