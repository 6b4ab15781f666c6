package ocr

import "github.com/otiai10/gosseract/v2"

// Version returns the version of the Tesseract library in use.
func Version() string { return gosseract.Version() }
