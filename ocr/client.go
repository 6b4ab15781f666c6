package ocr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/otiai10/gosseract/v2"
)

// tesseract is what a worker asks of a Tesseract client. *gosseract.Client
// is the one implementation; the interface is where a test counts the lines
// each model reads.
type tesseract interface {
	SetLanguage(langs ...string) error
	SetVariable(key gosseract.SettableVariable, value string) error
	SetPageSegMode(mode gosseract.PageSegMode) error
	SetImageFromBytes(data []byte) error
	GetBoundingBoxes(level gosseract.PageIteratorLevel) ([]gosseract.BoundingBox, error)
	Text() (string, error)
	Close() error
}

// worker holds the Tesseract clients of one goroutine: one for the
// configured languages, which reads whole pages, and, when more than one
// language is configured, one for English alone and one for Chinese alone,
// which read lines. A line is read first with the cheapest model that may
// fit it (English: several times faster than Chinese) and again with Chinese
// only when that first read is doubtful.
type worker struct {
	all     tesseract
	eng     tesseract // nil unless eng is configured with other languages
	chinese tesseract // nil unless chi_sim is configured with other languages
	// traditional reads again, with chi_tra, a Chinese line in which the
	// Simplified model doubts a character (see readChinese); nil unless
	// chi_tra is configured with chi_sim.
	traditional tesseract
	// sharedMu, when set, is the lock of traditional, which other
	// workers of the pool share (Pool.shareTraditional): held while it
	// reads, and the pool frees it, not the worker.
	sharedMu *sync.Mutex
	inited   map[tesseract]bool
	// seen are the renderings read since forget, with the client that read
	// each and what it read: a line's retries may render it as a rendering
	// read before (an alternate that keeps every glyph the first kept), and
	// the same pixels read by the same model read alike.
	seen []seenRead
}

// seenRead is one read remembered in worker.seen.
type seenRead struct {
	c   tesseract
	img *image.Gray
	r   reading
}

// newWorker creates and sets up the clients for langs; on failure it frees
// those it made.
func newWorker(langs []string) (*worker, error) {
	w := &worker{all: newClient(), inited: map[tesseract]bool{}}
	if err := w.setUp(langs); err != nil {
		return nil, errors.Join(err, w.close())
	}
	return w, nil
}

func (w *worker) setUp(langs []string) error {
	if err := w.all.SetLanguage(langs...); err != nil {
		return fmt.Errorf("ocr: %w", err)
	}
	if len(langs) > 1 {
		for _, l := range langs {
			var c tesseract
			switch l {
			case "eng":
				w.eng = newClient()
				c = w.eng
			case "chi_sim":
				w.chinese = newClient()
				c = w.chinese
			case "chi_tra":
				w.traditional = newClient()
				c = w.traditional
			default:
				continue
			}
			if err := c.SetLanguage(l); err != nil {
				return fmt.Errorf("ocr: %w", err)
			}
			// Lines come dark on light from PrepareLine: Tesseract's retry of
			// doubtful lines inverted would only cost time.
			if err := c.SetVariable("tessedit_do_invert", "0"); err != nil {
				return fmt.Errorf("ocr: %w", err)
			}
		}
	}
	for _, c := range w.clients() {
		// Frames carry no resolution; saying so keeps Tesseract from guessing
		// (and from printing its guess on stderr).
		if err := c.SetVariable("user_defined_dpi", "150"); err != nil {
			return fmt.Errorf("ocr: %w", err)
		}
		// Tesseract's diagnostics (statistics dumps of a line it finds no
		// text in, "Image too small to scale!!") go to stderr by default, in
		// lines no log reader can parse; they say nothing an operator can act on.
		if err := c.SetVariable(gosseract.DEBUG_FILE, os.DevNull); err != nil {
			return fmt.Errorf("ocr: %w", err)
		}
	}
	// Every client is initialised on its first read (ready), not here: a
	// client costs ~100 ms of CPU to initialise (its models and Tesseract's
	// universal ambiguities table), and a replay of a short clip, or a
	// stream whose lines are all English, would pay for clients it never
	// uses (a pool of two workers set up four at start: 0.4 CPU-s of a
	// 0.7 CPU-s start-up). checkLanguages has found every model already.
	// The mixed-language client reads only whole frames; the Traditional
	// Chinese one is kept only beside a Simplified one.
	if w.traditional != nil && w.chinese == nil {
		err := closeClient(w.traditional)
		w.traditional = nil
		if err != nil {
			return err
		}
	}
	return nil
}

// warm initialises the clients lines are read with first: English and
// Simplified Chinese, or the one client of a lone language. A client that
// fails to initialise fails its first read again, which reports it.
func (w *worker) warm() {
	for _, c := range w.clients() {
		if c == w.all && len(w.clients()) > 1 || c == w.traditional {
			continue
		}
		_ = w.ready(c) //nolint:errcheck // reported by the client's first read
	}
}

// ready initialises c once, before its first read.
func (w *worker) ready(c tesseract) error {
	if w.inited[c] {
		return nil
	}
	if err := initClient(c); err != nil {
		return err
	}
	w.inited[c] = true
	return nil
}

// initMu serialises Tesseract set-up and tear-down in the whole process: gosseract
// points the process's stderr at /dev/null while a client initialises and
// restores it afterwards, so two overlapping initialisations can leave stderr
// pointing at /dev/null for good (seen here: alert lines vanished).
var initMu sync.Mutex

// initClient initialises c now, under initMu, instead of lazily on its first
// read, which may overlap another client's.
func initClient(c tesseract) error {
	initMu.Lock()
	defer initMu.Unlock()
	blank := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	if err := c.SetImageFromBytes(encodeBMP(blank)); err != nil {
		return fmt.Errorf("ocr: init tesseract: %w", err)
	}
	if _, err := c.Text(); err != nil {
		return fmt.Errorf("ocr: init tesseract: %w", err)
	}
	return nil
}

func (w *worker) clients() []tesseract {
	var cs []tesseract
	for _, c := range []tesseract{w.all, w.eng, w.chinese, w.traditional} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// close frees every client of w.
func (w *worker) close() error {
	initMu.Lock()
	defer initMu.Unlock()
	var errs []error
	for _, c := range w.clients() {
		if w.sharedMu != nil && c == w.traditional {
			continue // the pool's to free
		}
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ocr: close tesseract: %w", err))
		}
	}
	return errors.Join(errs...)
}

// closeClient frees c, under initMu.
func closeClient(c tesseract) error {
	initMu.Lock()
	defer initMu.Unlock()
	if err := c.Close(); err != nil {
		return fmt.Errorf("ocr: close tesseract: %w", err)
	}
	return nil
}

// newClient creates a client under initMu: Tesseract's construction,
// initialisation and destruction touch process-wide state.
func newClient() *gosseract.Client {
	initMu.Lock()
	defer initMu.Unlock()
	return gosseract.NewClient()
}

// readLine reads img as one line with c, initialising c first if need be.
func (w *worker) readLine(c tesseract, img *image.Gray) (reading, error) {
	for _, s := range w.seen {
		if s.c == c && sameGray(s.img, img) {
			return s.r, nil
		}
	}
	if w.sharedMu != nil && c == w.traditional {
		w.sharedMu.Lock()
		defer w.sharedMu.Unlock()
	}
	if err := w.ready(c); err != nil {
		return reading{}, err
	}
	r, err := readLine(c, img)
	if err == nil {
		w.seen = append(w.seen, seenRead{c: c, img: img, r: r})
	}
	return r, err
}

// forget empties w.seen: the renderings of the next line are its own.
func (w *worker) forget() {
	clear(w.seen)
	w.seen = w.seen[:0]
}

// sameGray reports whether a and b have the same size and pixels.
func sameGray(a, b *image.Gray) bool {
	if a == b {
		return true
	}
	dx, dy := a.Rect.Dx(), a.Rect.Dy()
	if dx != b.Rect.Dx() || dy != b.Rect.Dy() {
		return false
	}
	for y := range dy {
		ra := a.Pix[a.PixOffset(a.Rect.Min.X, a.Rect.Min.Y+y):][:dx]
		rb := b.Pix[b.PixOffset(b.Rect.Min.X, b.Rect.Min.Y+y):][:dx]
		if !bytes.Equal(ra, rb) {
			return false
		}
	}
	return true
}

func readPage(c tesseract, img *image.Gray) ([]Line, error) {
	if err := setImage(c, img, gosseract.PSM_AUTO); err != nil {
		return nil, err
	}
	boxes, err := c.GetBoundingBoxes(gosseract.RIL_TEXTLINE)
	if err != nil {
		return nil, fmt.Errorf("ocr: read page: %w", err)
	}
	out := make([]Line, 0, len(boxes))
	for _, b := range boxes {
		t := cleanText(b.Word)
		if t == "" {
			continue
		}
		out = append(out, Line{Text: t, Box: b.Box.Add(img.Rect.Min), Confidence: b.Confidence})
	}
	return out, nil
}

func readLine(c tesseract, img *image.Gray) (reading, error) {
	if err := setImage(c, img, gosseract.PSM_SINGLE_LINE); err != nil {
		return reading{}, err
	}
	// Words carry their own confidences; a line's is their mean (which is
	// how Tesseract computes a line's).
	boxes, err := c.GetBoundingBoxes(gosseract.RIL_WORD)
	if err != nil {
		return reading{}, fmt.Errorf("ocr: read line: %w", err)
	}
	var r reading
	var parts []string
	var conf float64
	for _, b := range boxes {
		if t := cleanText(b.Word); t != "" {
			parts = append(parts, t)
			conf += b.Confidence
			r.words = append(r.words, word{text: t, conf: b.Confidence})
		}
	}
	if len(parts) == 0 {
		return reading{}, nil
	}
	r.Text = joinWords(parts)
	r.Confidence = conf / float64(len(parts))
	return r, nil
}

func setImage(c tesseract, img *image.Gray, psm gosseract.PageSegMode) error {
	if err := c.SetPageSegMode(psm); err != nil {
		return fmt.Errorf("ocr: page segmentation mode: %w", err)
	}
	if err := c.SetImageFromBytes(encodeBMP(img)); err != nil {
		return fmt.Errorf("ocr: set image: %w", err)
	}
	return nil
}

// encodeBMP writes img as an uncompressed 8-bit BMP with a grey palette,
// which Leptonica reads straight from memory: its PGM reader takes the
// pixels one fread at a time (1.1 ms for a 600x120 line, against 0.01 ms
// for the BMP, measured here), a cost each read of a line paid. Tesseract
// turns the palette back into the same grey levels.
func encodeBMP(img *image.Gray) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	stride := (w + 3) &^ 3 // rows are padded to 4 bytes
	const off = 14 + 40 + 4*256
	b := make([]byte, off+stride*h)
	le := binary.LittleEndian
	b[0], b[1] = 'B', 'M'
	le.PutUint32(b[2:], uint32(len(b)))
	le.PutUint32(b[10:], off)
	le.PutUint32(b[14:], 40) // BITMAPINFOHEADER
	le.PutUint32(b[18:], uint32(w))
	le.PutUint32(b[22:], uint32(h)) // positive: rows bottom up
	le.PutUint16(b[26:], 1)         // planes
	le.PutUint16(b[28:], 8)         // bits per pixel
	le.PutUint32(b[34:], uint32(stride*h))
	le.PutUint32(b[46:], 256) // palette entries
	for i := range 256 {
		p := b[54+4*i:]
		p[0], p[1], p[2] = byte(i), byte(i), byte(i)
	}
	for y := range h {
		src := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		copy(b[off+(h-1-y)*stride:], img.Pix[src:src+w])
	}
	return b
}

// joinWords joins the words of a line with spaces, but none next to a Han
// character: Tesseract's Chinese models make a word of each character or
// two, and a line read whole comes without those spaces ("1比1", "A货").
func joinWords(words []string) string {
	var b strings.Builder
	for i, wd := range words {
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(words[i-1])
			next, _ := utf8.DecodeRuneInString(wd)
			if !unicode.Is(unicode.Han, prev) && !unicode.Is(unicode.Han, next) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(wd)
	}
	return b.String()
}

// cleanText folds Tesseract's line breaks and runs of spaces into single
// spaces, and drops the spaces Tesseract puts between Chinese characters
// ("古 驰" is one word to a reader).
func cleanText(s string) string {
	fields := strings.Fields(s)
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(fields[i-1])
			next, _ := utf8.DecodeRuneInString(f)
			if !unicode.Is(unicode.Han, prev) || !unicode.Is(unicode.Han, next) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(f)
	}
	return b.String()
}
