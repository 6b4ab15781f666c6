// Package ppocr is the PP-OCR engine: PP-OCRv4's DB text detector and CRNN
// recogniser (Chinese and English) on ONNX Runtime, through
// github.com/yalue/onnxruntime_go.
//
// Files by concern:
//   - files.go: the files the engine reads (runtime library, models,
//     dictionary) and the check that they are there.
//   - runtime.go: the process-wide ONNX Runtime environment.
//   - engine.go: the Engine's lifecycle, its sessions and lines.Engine.
//   - optimized.go: the cache of models as ONNX Runtime optimised them for
//     this machine.
//   - det.go: the DB detector: input scaling, probability map, boxes.
//   - geom.go: connected components, convex hulls, minimum-area rectangles.
//   - rec.go: cropping along a box, the recogniser's input, CTC decoding.
//   - auto.go: the auto engine, Tesseract and PP-OCR each where it wins.
//   - autostream.go: auto's per-stream scans of what changed.
package ppocr
