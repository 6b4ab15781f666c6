package ppocr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/streamwatch/streamwatch/lines"
)

// Errors of the engine.
var (
	ErrClosed = errors.New("ppocr: engine closed")
	ErrModel  = errors.New("ppocr: unexpected model")
)

// dropScore is the least confidence of a reading handed on (PaddleOCR's
// drop_score 0.5): below it a recognition is mostly junk from texture.
const dropScore = 50

// Options configure an Engine.
type Options struct {
	// Dir holds the engine's files (see CheckFiles). Default DefaultDir().
	Dir string
	// Size is the number of sessions, each a detector and a recogniser
	// used by one read at a time. Default runtime.NumCPU().
	Size int
	// Threads is each session's intra-op threads. Default 1: the sessions
	// already run side by side, one per core, as Tesseract clients do.
	Threads int
	// DetectLongSide is the long side, in pixels, a frame is scaled to
	// (never up) for the detector. Default 960.
	DetectLongSide int
	// Lazy loads ONNX Runtime and the models when first needed rather than
	// in New (which then only checks that the files are there): for auto,
	// whose streams may never need the recogniser; ONNX Runtime and a
	// model cost about 0.07 CPU-s each to load.
	Lazy bool
	// CacheDir is where the engine keeps each model as ONNX Runtime
	// optimised it for this machine (every graph optimisation, CPU-specific
	// layouts included): written when a model first loads, then loaded
	// without optimising again, which costs less than a basic load and
	// runs as fast as a fully optimised one. Default Dir/optimized; "-":
	// no cache (each load optimises).
	CacheDir string
	// QuickLoad has ONNX Runtime optimise the models' graphs less when it
	// loads them without the cache (basic optimisations only): a load
	// costs about a third less, a run of the detector some 10 % more; for
	// auto, whose streams run the models seldom.
	QuickLoad bool
	// Log receives the engine's warnings (a cache it cannot write).
	// Default: none.
	Log *slog.Logger

	// unfolded loads the models as they are, without fold's rewrite: for
	// the tests that compare the two.
	unfolded bool
}

// Engine reads text lines with PP-OCRv4. It is safe for concurrent use:
// each read takes one of its sessions, so at most Size run at once.
type Engine struct {
	o        Options
	keys     []string
	sessions chan *session
	stop     chan struct{}
	once     sync.Once
	errs     error // of Close

	rtMu     sync.Mutex
	rtLoaded bool // the runtime is acquired, to be released by Close
	rtErr    error

	// The models, each loaded once when first needed and shared by the
	// sessions: ONNX Runtime runs one session from several threads at
	// once, each Run on its caller's thread (one intra-op thread).
	det, rec model
	// recognised counts the recogniser's runs, for tests.
	recognised atomic.Int64
}

// model is one ORT session of a model file, loaded when first needed.
type model struct {
	file, out string // the model file and its output's name
	mu        sync.Mutex
	sess      *ort.DynamicAdvancedSession
}

var _ lines.Engine = (*Engine)(nil)

// session is the scratch memory of one read of the detector or the
// recogniser; a read owns it while it runs.
type session struct {
	e   *Engine
	det detScratch
	rec recScratch
}

// New loads ONNX Runtime and the models from o.Dir and creates the
// sessions. It fails with ErrFilesMissing when a file is not there.
func New(o Options) (*Engine, error) {
	if o.Dir == "" {
		o.Dir = DefaultDir()
	}
	if o.Size <= 0 {
		o.Size = runtime.NumCPU()
	}
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.DetectLongSide <= 0 {
		o.DetectLongSide = defaultDetLen
	}
	switch o.CacheDir {
	case "":
		o.CacheDir = filepath.Join(o.Dir, "optimized")
	case "-":
		o.CacheDir = ""
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := CheckFiles(o.Dir); err != nil {
		return nil, err
	}
	keys, err := loadKeys(filepath.Join(o.Dir, KeysFile))
	if err != nil {
		return nil, err
	}
	e := &Engine{o: o, keys: keys, sessions: make(chan *session, o.Size), stop: make(chan struct{}),
		det: model{file: DetectorFile, out: "sigmoid_0.tmp_0"}, rec: model{file: RecognizerFile, out: "softmax_11.tmp_0"}}
	for range o.Size {
		e.sessions <- &session{e: e}
	}
	if o.Lazy {
		return e, nil
	}
	// Load both models now, so that a model that does not load fails here
	// rather than at the first frame.
	s := <-e.sessions
	_, err = s.detector()
	if err == nil {
		_, err = s.recognizer()
	}
	e.sessions <- s
	if err != nil {
		return nil, errors.Join(err, e.Close())
	}
	return e, nil
}

// sessionOptions are the options of every ORT session of the engine: its
// threads, the graph optimisation level, and where to save the optimised
// graph ("": nowhere).
func (e *Engine) sessionOptions(level ort.GraphOptimizationLevel, save string) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ppocr: session options: %w", err)
	}
	errs := []error{opts.SetIntraOpNumThreads(e.o.Threads), opts.SetInterOpNumThreads(1), opts.SetGraphOptimizationLevel(level)}
	if save != "" {
		errs = append(errs, opts.SetOptimizedModelFilePath(save))
	}
	if err := errors.Join(errs...); err != nil {
		destroy(opts)
		return nil, fmt.Errorf("ppocr: session options: %w", err)
	}
	return opts, nil
}

// runtime acquires ONNX Runtime for the engine, once; a failure stays.
func (e *Engine) runtime() error {
	e.rtMu.Lock()
	defer e.rtMu.Unlock()
	if !e.rtLoaded && e.rtErr == nil {
		e.rtErr = acquireRuntime(filepath.Join(e.o.Dir, RuntimeFile))
		e.rtLoaded = e.rtErr == nil
	}
	return e.rtErr
}

// load creates the session of model file with its one input x and output
// out: from the cache of optimised models when it can (see
// Options.CacheDir), else from file itself.
func (e *Engine) load(file, out string) (*ort.DynamicAdvancedSession, error) {
	if err := e.runtime(); err != nil {
		return nil, err
	}
	open := func(model []byte, level ort.GraphOptimizationLevel, save string) (*ort.DynamicAdvancedSession, error) {
		opts, err := e.sessionOptions(level, save)
		if err != nil {
			return nil, err
		}
		defer destroy(opts)
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"x"}, []string{out}, opts)
		if err != nil {
			return nil, fmt.Errorf("ppocr: load %s: %w", file, err)
		}
		return s, nil
	}
	src := filepath.Join(e.o.Dir, file)
	// The model to optimise: src as fold rewrites it, read and folded once,
	// when first asked for (only when the cache has no optimised form of
	// it). fold leaves a model it cannot parse as it is, for ONNX Runtime
	// to say what is wrong with it.
	var folded []byte
	model := func() ([]byte, error) {
		if folded != nil {
			return folded, nil
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("ppocr: load %s: %w", file, err)
		}
		if !e.o.unfolded {
			b, _, _ = fold(b)
		}
		folded = b
		return b, nil
	}
	s, err := e.loadCached(src, model, open)
	if err != nil {
		e.o.Log.Warn("PP-OCR model optimised at each start-up", "component", "ppocr", "model", file, "err", err)
	}
	if s != nil {
		return s, nil
	}
	level := ort.GraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)
	if e.o.QuickLoad {
		level = ort.GraphOptimizationLevelEnableBasic
	}
	b, err := model()
	if err != nil {
		return nil, err
	}
	return open(b, level, "")
}

// detector returns the engine's detector, loading it the first time.
func (s *session) detector() (*ort.DynamicAdvancedSession, error) { return s.e.model(&s.e.det) }

// recognizer returns the engine's recogniser, loading it the first time.
func (s *session) recognizer() (*ort.DynamicAdvancedSession, error) { return s.e.model(&s.e.rec) }

// model returns m's session, loading it the first time; a failed load is
// tried again by the next read.
func (e *Engine) model(m *model) (*ort.DynamicAdvancedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		sess, err := e.load(m.file, m.out)
		if err != nil {
			return nil, err
		}
		m.sess = sess
	}
	return m.sess, nil
}

// close frees m's session, if it was loaded.
func (m *model) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil
	}
	err := m.sess.Destroy()
	m.sess = nil
	return err //nolint:wrapcheck // ORT's error, handed on by Close
}

// Name returns "ppocr", the name of the engine in the lines it read.
func (e *Engine) Name() string { return "ppocr" }

// Size returns the number of sessions.
func (e *Engine) Size() int { return e.o.Size }

// Close waits for the reads running, frees the sessions and, with the
// process's last Engine, ONNX Runtime. Reads after Close fail with
// ErrClosed.
func (e *Engine) Close() error {
	e.once.Do(func() {
		close(e.stop)
		for range e.o.Size {
			<-e.sessions // wait for the reads running
		}
		errs := []error{e.det.close(), e.rec.close()}
		e.rtMu.Lock()
		if e.rtLoaded {
			errs = append(errs, releaseRuntime())
			e.rtLoaded = false
		}
		e.rtMu.Unlock()
		e.errs = errors.Join(errs...)
	})
	return e.errs
}

// take waits for a free session.
func (e *Engine) take(ctx context.Context) (*session, error) {
	select {
	case <-e.stop:
		return nil, ErrClosed
	default:
	}
	select {
	case s := <-e.sessions:
		return s, nil
	case <-e.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ReadLines reads each crop as one line: along its Quad when it has one
// (a box of PP-OCR's detector), else its Box.
func (e *Engine) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	s, err := e.take(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { e.sessions <- s }()
	var out []lines.Reading
	for _, c := range crops {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q := quadOf(c.Box)
		if c.Quad != (lines.Quad{}) {
			for i, p := range c.Quad {
				q[i] = fromImage(p)
			}
		}
		text, conf, err := s.recognize(img, q)
		if err != nil {
			return nil, err
		}
		if text != "" && conf >= dropScore {
			out = append(out, lines.Reading{Box: c.Box, Text: text, Confidence: conf})
		}
	}
	return out, nil
}

// Detect returns the text lines PP-OCR's detector finds in region r of img,
// scaled so that its long side is at most longSide pixels (0: the engine's
// DetectLongSide).
func (e *Engine) Detect(ctx context.Context, img *image.Gray, r image.Rectangle, longSide int) ([]Box, error) {
	s, err := e.take(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { e.sessions <- s }()
	if longSide <= 0 {
		longSide = e.o.DetectLongSide
	}
	return s.detect(img, r, longSide)
}

// Crop returns b as a line for the line-reading stage: its Quad, and the
// rectangle around it within the frame as Text and Box.
func (b Box) Crop(frame image.Rectangle) lines.Crop {
	r := image.Rectangle{Min: b.Quad[0], Max: b.Quad[0]}
	for _, p := range b.Quad {
		r.Min.X, r.Min.Y = min(r.Min.X, p.X), min(r.Min.Y, p.Y)
		r.Max.X, r.Max.Y = max(r.Max.X, p.X+1), max(r.Max.Y, p.Y+1)
	}
	r = r.Intersect(frame)
	return lines.Crop{Text: r, Box: r, Quad: lines.Quad(b.Quad)}
}

// Propose is the engine's own detector for the line-reading stage
// (--ocr-engine ppocr): the lines it finds over the whole frame replace
// those of the classical detector.
func (e *Engine) Propose(ctx context.Context, img *image.Gray, _ []lines.Crop) ([]lines.Crop, error) {
	boxes, err := e.Detect(ctx, img, img.Rect, 0)
	if err != nil {
		return nil, err
	}
	out := make([]lines.Crop, 0, len(boxes))
	for _, b := range boxes {
		if c := b.Crop(img.Rect); !c.Box.Empty() {
			out = append(out, c)
		}
	}
	return out, nil
}

// destroyer is what ORT values and options share.
type destroyer interface{ Destroy() error }

// destroy frees v; the values it is used for were made by this package,
// and freeing them only fails on a nil pointer, which cannot happen here.
func destroy(v destroyer) {
	if v != nil {
		_ = v.Destroy() //nolint:errcheck // see above
	}
}
