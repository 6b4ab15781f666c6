// Package pool shares streams among workers through NATS JetStream: a worker
// takes stream assignments from a work-queue stream, keeps each leased while
// it watches the stream, and hands them back on drain.
package pool
