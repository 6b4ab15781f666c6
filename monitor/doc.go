// Package monitor composes the stages that watch one stream: source, sampler,
// shared OCR pool, matcher, segment tracker and publishers.
package monitor
