package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/lines"
	"github.com/streamwatch/streamwatch/ocr"
	"github.com/streamwatch/streamwatch/ocr/ppocr"
)

// ocrEngine is --ocr-engine: which engine reads the text lines.
type ocrEngine string

// The engines of --ocr-engine.
const (
	engineTesseract ocrEngine = "tesseract" // Tesseract alone, on the classical detector's lines
	enginePPOCR     ocrEngine = "ppocr"     // PP-OCR alone: its detector and recogniser
	engineAuto      ocrEngine = "auto"      // each where it wins (ppocr.Auto); Tesseract alone without PP-OCR's files
)

// defaultEngine is --ocr-engine's default: auto wins on make eval's
// held-out set (97 % recall against Tesseract's 65 %) within 1.2x
// Tesseract's CPU per sampled frame, and holds a worker's live budget
// (README, OCR engines); without PP-OCR's files it reads with Tesseract
// alone.
const defaultEngine = engineAuto

func (e *ocrEngine) String() string { return string(*e) }

// Set takes tesseract, ppocr or auto.
func (e *ocrEngine) Set(v string) error {
	switch ocrEngine(v) {
	case engineTesseract, enginePPOCR, engineAuto:
		*e = ocrEngine(v)
		return nil
	}
	return fmt.Errorf("%w: %s: want tesseract, ppocr or auto", errBadEngine, echo.Quote(v))
}

var errBadEngine = errors.New("unknown OCR engine")

// readers is the process's line reading: its engine and, for engines with
// a detector of their own, a Proposer per stream.
type readers struct {
	engine   lines.Engine
	proposer func() lines.Proposer // nil: the classical detector alone
	closers  []func() error
}

// openEngine opens the engine of --ocr-engine. ppocr without its files
// fails; auto without them reads with Tesseract alone and says so once.
func (w *wiring) openEngine() (*readers, error) {
	c := w.c
	r := &readers{}
	var pp *ppocr.Engine
	if c.ocrEngine != engineTesseract {
		var err error
		// auto loads PP-OCR when a stream first needs it: many never do.
		pp, err = ppocr.New(ppocr.Options{Dir: c.ppocrDir, Size: c.ocrWorkers, Lazy: c.ocrEngine == engineAuto, QuickLoad: c.ocrEngine == engineAuto, Log: w.log})
		switch {
		case errors.Is(err, ppocr.ErrFilesMissing) && c.ocrEngine == engineAuto:
			w.log.Warn("PP-OCR files missing: --ocr-engine auto reads with Tesseract alone", "component", "cmd", "err", err)
			pp = nil
		case errors.Is(err, ppocr.ErrFilesMissing):
			return nil, usageError{fmt.Errorf("--ocr-engine ppocr: %w", err)}
		case err != nil:
			return nil, err //nolint:wrapcheck // ppocr's errors name the package and file
		}
	}
	if pp != nil {
		r.closers = append(r.closers, pp.Close)
	}
	if c.ocrEngine == enginePPOCR {
		r.engine = pp
		r.proposer = func() lines.Proposer { return pp }
		return r, nil
	}
	pool, err := ocr.NewPool(ocr.Options{Size: c.ocrWorkers, Languages: strings.Split(c.languages, "+"), Warm: c.warmOCR})
	if err != nil {
		return nil, errors.Join(err, r.close())
	}
	r.closers = append(r.closers, pool.Close)
	r.engine = pool
	if pp != nil {
		a := &ppocr.Auto{Classic: pool, PP: pp}
		r.engine = a
		r.proposer = a.Stream
	}
	return r, nil
}

// close closes the engines, last opened first.
func (r *readers) close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	return errors.Join(errs...)
}

// propose returns a new stream's Proposer, nil for the classical detector alone.
func (r *readers) propose() lines.Proposer {
	if r.proposer == nil {
		return nil
	}
	return r.proposer()
}
