package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/otiai10/gosseract/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("ocr: pool closed")

// Line is one text line read from an image.
type Line struct {
	Text       string
	Box        image.Rectangle // in the coordinates of the image handed to Read
	Confidence float64         // 0..100, Tesseract's mean word confidence
}

// Options configures a Pool.
type Options struct {
	// Size is the number of Tesseract clients, each served by its own
	// goroutine. Default: runtime.NumCPU().
	Size int
	// Languages are Tesseract language codes. Default: eng, chi_sim.
	Languages []string
	// Duration, when set, observes the seconds each Read spends in Tesseract.
	Duration prometheus.Observer
}

// DefaultLanguages are read when Options.Languages is empty.
var DefaultLanguages = []string{"eng", "chi_sim"}

type job struct {
	ctx     context.Context
	img     *image.Gray
	regions []image.Rectangle
	done    chan result
}

type result struct {
	lines []Line
	err   error
}

// Pool reads images with a fixed set of Tesseract clients. A client is never
// shared between goroutines: each belongs to one worker goroutine. Jobs are
// served in arrival order, so streams that share a pool take fair turns.
type Pool struct {
	opts  Options
	jobs  chan job
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	mu    sync.RWMutex
	close bool
}

// NewPool starts the clients. It fails when a language's model is missing.
func NewPool(opts Options) (*Pool, error) {
	if opts.Size <= 0 {
		opts.Size = runtime.NumCPU()
	}
	if len(opts.Languages) == 0 {
		opts.Languages = DefaultLanguages
	}
	if err := checkLanguages(opts.Languages); err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, jobs: make(chan job), stop: make(chan struct{})}
	for range opts.Size {
		w, err := newWorker(opts.Languages)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.wg.Add(1)
		go p.work(w)
	}
	return p, nil
}

func checkLanguages(langs []string) error {
	have, err := gosseract.GetAvailableLanguages()
	if err != nil {
		return fmt.Errorf("ocr: list tesseract languages: %w", err)
	}
	for _, l := range langs {
		found := false
		for _, h := range have {
			if h == l {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("ocr: tesseract language %q is not installed (have %s)", l, strings.Join(have, ", "))
		}
	}
	return nil
}

// Size returns the number of clients.
func (p *Pool) Size() int { return p.opts.Size }

// Read returns the text lines of img. With no regions it reads the whole
// image with automatic layout analysis; otherwise it reads each region as one
// line, and the boxes are in img's coordinates.
func (p *Pool) Read(ctx context.Context, img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	p.mu.RLock()
	closed := p.close
	p.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	j := job{ctx: ctx, img: img, regions: regions, done: make(chan result, 1)}
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.stop:
		return nil, ErrClosed
	}
	select {
	case r := <-j.done:
		return r.lines, r.err
	case <-ctx.Done():
		// The worker finishes the job and drops the result into the buffered channel.
		return nil, ctx.Err()
	}
}

// Close stops the workers, waits for them and frees every client.
func (p *Pool) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.close = true
		p.mu.Unlock()
		close(p.stop)
	})
	p.wg.Wait()
	return nil
}

func (p *Pool) work(w *worker) {
	defer p.wg.Done()
	defer w.close()
	for {
		select {
		case <-p.stop:
			return
		case j := <-p.jobs:
			if j.ctx.Err() != nil {
				j.done <- result{err: j.ctx.Err()}
				continue
			}
			start := time.Now()
			lines, err := w.read(j.img, j.regions)
			if p.opts.Duration != nil {
				p.opts.Duration.Observe(time.Since(start).Seconds())
			}
			j.done <- result{lines: lines, err: err}
		}
	}
}

// worker holds the Tesseract clients of one goroutine: one for the
// configured languages and, when Chinese is among them, one for Chinese alone.
type worker struct {
	all     *gosseract.Client
	chinese *gosseract.Client // nil when chi_sim is not configured
}

func newWorker(langs []string) (*worker, error) {
	w := &worker{all: gosseract.NewClient()}
	if err := w.all.SetLanguage(langs...); err != nil {
		w.close()
		return nil, fmt.Errorf("ocr: %w", err)
	}
	for _, l := range langs {
		if l == "chi_sim" && len(langs) > 1 {
			w.chinese = gosseract.NewClient()
			if err := w.chinese.SetLanguage("chi_sim"); err != nil {
				w.close()
				return nil, fmt.Errorf("ocr: %w", err)
			}
		}
	}
	for _, c := range []*gosseract.Client{w.all, w.chinese} {
		if c == nil {
			continue
		}
		// Frames carry no resolution; saying so keeps Tesseract from guessing
		// (and from printing its guess on stderr).
		if err := c.SetVariable("user_defined_dpi", "150"); err != nil {
			w.close()
			return nil, fmt.Errorf("ocr: %w", err)
		}
	}
	return w, nil
}

func (w *worker) close() {
	w.all.Close()
	if w.chinese != nil {
		w.chinese.Close()
	}
}

// read reads the whole page, or each region as a line. A line in which the
// mixed model saw Chinese is read again with the Chinese model alone: mixed
// models misread Chinese-only lines (measured: "古驰 高仿 包包" came back as
// "古驰 ath aS" with eng+chi_sim and exactly with chi_sim).
func (w *worker) read(img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	lines, err := readImage(w.all, img, regions)
	if err != nil || w.chinese == nil {
		return lines, err
	}
	for i, l := range lines {
		if !hasHan(l.Text) {
			continue
		}
		box := l.Box.Inset(-l.Box.Dy() / 4).Intersect(img.Rect)
		sub, ok := img.SubImage(box).(*image.Gray)
		if !ok {
			continue
		}
		again, err := readLine(w.chinese, sub)
		if err != nil {
			return nil, err
		}
		if again.Text != "" && again.Confidence > l.Confidence {
			lines[i].Text, lines[i].Confidence = again.Text, again.Confidence
		}
	}
	return lines, nil
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func readImage(c *gosseract.Client, img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	if len(regions) == 0 {
		return readPage(c, img)
	}
	var out []Line
	for _, r := range regions {
		r = r.Intersect(img.Rect)
		if r.Empty() {
			continue
		}
		sub, ok := img.SubImage(r).(*image.Gray)
		if !ok {
			continue
		}
		l, err := readLine(c, sub)
		if err != nil {
			return nil, err
		}
		if l.Text != "" {
			l.Box = r
			out = append(out, l)
		}
	}
	return out, nil
}

func readPage(c *gosseract.Client, img *image.Gray) ([]Line, error) {
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

func readLine(c *gosseract.Client, img *image.Gray) (Line, error) {
	if err := setImage(c, img, gosseract.PSM_SINGLE_LINE); err != nil {
		return Line{}, err
	}
	boxes, err := c.GetBoundingBoxes(gosseract.RIL_TEXTLINE)
	if err != nil {
		return Line{}, fmt.Errorf("ocr: read line: %w", err)
	}
	var parts []string
	var conf float64
	for _, b := range boxes {
		if t := cleanText(b.Word); t != "" {
			parts = append(parts, t)
			conf += b.Confidence
		}
	}
	if len(parts) == 0 {
		return Line{}, nil
	}
	return Line{Text: strings.Join(parts, " "), Confidence: conf / float64(len(parts))}, nil
}

func setImage(c *gosseract.Client, img *image.Gray, psm gosseract.PageSegMode) error {
	if err := c.SetPageSegMode(psm); err != nil {
		return fmt.Errorf("ocr: page segmentation mode: %w", err)
	}
	if err := c.SetImageFromBytes(encodePGM(img)); err != nil {
		return fmt.Errorf("ocr: set image: %w", err)
	}
	return nil
}

// encodePGM writes img as a binary PGM, which Leptonica reads without a codec
// and at almost no cost next to PNG.
func encodePGM(img *image.Gray) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	header := "P5\n" + strconv.Itoa(w) + " " + strconv.Itoa(h) + "\n255\n"
	buf := make([]byte, 0, len(header)+w*h)
	buf = append(buf, header...)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		off := img.PixOffset(img.Rect.Min.X, y)
		buf = append(buf, img.Pix[off:off+w]...)
	}
	return buf
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
			if !(unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, next)) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(f)
	}
	return b.String()
}
