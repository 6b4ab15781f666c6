// Package lines reads the text lines of sampled frames: it proposes line
// regions (the detector), decides which lines changed since earlier frames,
// reads the changed ones through an Engine and keeps and reuses readings.
package lines
