package ocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"strings"
	"sync"

	"github.com/otiai10/gosseract/v2"
	"github.com/streamwatch/streamwatch/internal/echo"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("ocr: pool closed")

// LanguageError is returned by NewPool for a language whose Tesseract model
// is not installed.
type LanguageError struct {
	Language string   // the language asked for
	Have     []string // the languages installed
}

// Error says which language is missing and which are installed.
func (e *LanguageError) Error() string {
	return fmt.Sprintf("ocr: tesseract language %s is not installed (have %s)", echo.Quote(e.Language), strings.Join(e.Have, ", "))
}

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
	// Languages are Tesseract language codes. Default: eng, chi_sim, chi_tra.
	Languages []string
	// Warm has each worker initialise its line clients (English and
	// Simplified Chinese, or the one client of a lone language) as it
	// starts, in the background of NewPool, for a long-running process
	// whose first reads should not wait for them. Otherwise a client is
	// initialised on its first read.
	Warm bool
}

// DefaultLanguages are read when Options.Languages is empty.
var DefaultLanguages = []string{"eng", "chi_sim", "chi_tra"}

type job struct {
	ctx     context.Context
	img     *image.Gray
	regions []image.Rectangle
	efforts []effort // per region, or nil: how hard to read it (see readCrop)
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
	errs  []error // of freeing the clients, for Close
	// shared is the client the workers share (shareTraditional), freed
	// by Close after them; under mu once the workers run.
	shared tesseract
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
	workers := make([]*worker, 0, opts.Size)
	for range opts.Size {
		w, err := newWorker(opts.Languages)
		if err != nil {
			for _, w := range workers {
				err = errors.Join(err, w.close())
			}
			return nil, err
		}
		workers = append(workers, w)
	}
	if err := p.shareTraditional(workers); err != nil {
		for _, w := range workers {
			err = errors.Join(err, w.close())
		}
		return nil, errors.Join(err, p.closeShared())
	}
	for _, w := range workers {
		p.wg.Add(1)
		go p.work(w)
	}
	return p, nil
}

// shareTraditional gives every worker the first one's Traditional Chinese
// client, behind one lock, and frees the others' (not initialised yet):
// a line is read with it only when the Simplified model doubts a Han
// character, seldom enough for one client to serve the pool, and each
// client costs ~75 ms of CPU to initialise and its model's memory. The
// pool frees it once its workers are done (Close).
func (p *Pool) shareTraditional(workers []*worker) error {
	if len(workers) < 2 || workers[0].traditional == nil {
		return nil
	}
	p.shared = workers[0].traditional
	mu := &sync.Mutex{}
	var errs []error
	for i, w := range workers {
		if i > 0 {
			if err := closeClient(w.traditional); err != nil {
				errs = append(errs, err)
			}
			w.traditional = p.shared
		}
		w.sharedMu = mu
	}
	return errors.Join(errs...)
}

// closeShared frees the client the workers share, if any; call it once
// they are done.
func (p *Pool) closeShared() error {
	if p.shared == nil {
		return nil
	}
	c := p.shared
	p.shared = nil
	return closeClient(c)
}

func checkLanguages(langs []string) error {
	// gosseract finds the model folder by initialising a static Tesseract
	// API: never two at once.
	initMu.Lock()
	have, err := gosseract.GetAvailableLanguages()
	initMu.Unlock()
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
			return &LanguageError{Language: l, Have: have}
		}
	}
	return nil
}

// Size returns the number of clients.
func (p *Pool) Size() int { return p.opts.Size }

// Read returns the text lines of img. With nil regions it reads the whole
// image with automatic layout analysis; otherwise it reads each region as one
// line, and the boxes are in img's coordinates. An empty, non-nil regions (a
// detector that found no text) reads nothing.
func (p *Pool) Read(ctx context.Context, img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	return p.read(ctx, img, regions, nil)
}

// read is Read with, per region, how hard to read it (nil: fully).
func (p *Pool) read(ctx context.Context, img *image.Gray, regions []image.Rectangle, efforts []effort) ([]Line, error) {
	p.mu.RLock()
	closed := p.close
	p.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	j := job{ctx: ctx, img: img, regions: regions, efforts: efforts, done: make(chan result, 1)}
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

// Close stops the workers, waits for them and frees every client. It
// returns the errors of freeing them.
func (p *Pool) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.close = true
		p.mu.Unlock()
		close(p.stop)
	})
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.closeShared(); err != nil {
		p.errs = append(p.errs, err)
	}
	return errors.Join(p.errs...)
}

func (p *Pool) work(w *worker) {
	defer p.wg.Done()
	defer func() {
		if err := w.close(); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
		}
	}()
	if p.opts.Warm {
		w.warm()
	}
	for {
		select {
		case <-p.stop:
			return
		case j := <-p.jobs:
			if j.ctx.Err() != nil {
				j.done <- result{err: j.ctx.Err()}
				continue
			}
			lines, err := w.read(j.img, j.regions, j.efforts)
			j.done <- result{lines: lines, err: err}
		}
	}
}
