// Package alerts turns the rule hits of a stream into suspect segments and
// publishes their alert records.
//
// It owns:
//   - the segment state machine (tracker.go): a Tracker opens, updates and
//     closes one segment per brand (or per phrase-only rule), and Resume
//     takes over the segments another watcher left open (resume.go reads
//     them back from JetStream);
//   - the alert record and its schema (record.go, schema.go): Record, its
//     State (open, update, closed), the alert id derived from stream, rule
//     and segment start, and the JSON schema the records follow;
//   - publishing (publish.go): the Sink interface and its kinds, JetStream
//     (deduplicated by Nats-Msg-Id), JSON lines, a printer and several at
//     once; the alert stream's retention; the alert metrics;
//   - the outbox (outbox.go), a sink that keeps records on disk while NATS is
//     away and sends them in order when it is back; its directories
//     (outbox_dir.go): one locked directory per process under a shared root,
//     an earlier run's leftovers sent only to the NATS server they were meant
//     for;
//   - evidence (evidence.go): the JPEGs of the frame and the lines that show
//     an alert, their keys, and the stores they go to (a directory, a
//     JetStream object store).
//
// It knows rule hits (package match) and nothing of video or OCR.
package alerts
