// Package frames chooses which decoded frames to read, copies them out of C
// memory into Go images and hands them to OCR through a bounded queue.
package frames
