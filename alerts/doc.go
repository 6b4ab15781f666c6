// Package alerts groups rule hits into suspect segments and publishes their
// alert records to NATS JetStream and JSON-lines files.
package alerts
