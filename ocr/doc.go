// Package ocr reads text lines from grayscale images with a pool of Tesseract clients.
//
// Files by concern:
//   - pool.go: the Pool's lifecycle (NewPool, Read, Close), its worker
//     goroutines, one per set of clients, and the language check.
//   - engine.go: the Pool as the lines.Engine of the line-reading stage.
//   - client.go: Tesseract clients (creation, set-up and tear-down under one
//     process-wide lock, lazy initialisation) and single page and line reads.
//   - strategy.go: the re-read cascade for one line: which model reads which
//     rendering, in what order, and when a reading is good enough to stop.
//   - score.go: judging readings (worth, beats, doubtful, garbage) and the
//     confidence thresholds the cascade uses.
//   - preprocess.go: turning a line crop into renderings for Tesseract
//     (scaling, global and local thresholds, alternates).
//   - glyphs.go: deciding which connected components of a binarised line are
//     its glyphs, under a hypothesis about the text's polarity and colour.
//   - shadow.go: recovering light text with a dark drop shadow whose glyphs
//     cross a background of their own colour.
package ocr
