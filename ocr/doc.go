// Package ocr reads text lines from grayscale images with a pool of Tesseract clients.
package ocr
