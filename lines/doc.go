// Package lines is the line-reading stage: it owns everything between a
// sampled frame's image and the typed text lines of that frame.
//
//   - proposing text-line regions (Detect: scan, refine, merge), each as a
//     Crop: the glyphs' box and that box with Margin around it, the margin
//     engines are tuned to; an engine's own detector (a Proposer, e.g.
//     PP-OCR's, with rotated boxes in Crop.Quad) adds to them or replaces them;
//   - deciding which lines changed since earlier frames of the stream (the
//     gate) and reusing the readings of the others;
//   - reading the changed ones through an Engine (ocr.Pool, Tesseract, is
//     the first), up to the engine's Size frames of a stream at once;
//   - keeping readings, and reading a doubtful one again on later frames a
//     few times (a later frame waits for a pending read of its unchanged
//     line rather than reuse what is not yet known);
//   - handing back a frame's []Line (box, text, confidence, engine, reused)
//     through a Pending, in the order the frames were started.
//
// A Reader serves one stream; an Engine is shared by all streams of a process.
package lines
