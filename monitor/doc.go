// Package monitor composes the stages that watch one stream and runs them
// under one lifecycle (Run): decode and sample (ingest, frames), read lines
// (lines, through the process's shared Engine), then match, track segments and
// publish (match, alerts), each a method of one monitor value joined to the
// next by a queue or a channel in frame order. It owns the stream's options
// as given (copied into its own config, never written to), the rules source,
// the stream's status and metrics (its per-stream series deleted when Run
// ends) and the frames kept for evidence images. Nothing it hands a stage
// comes back into that stage's types.
package monitor
