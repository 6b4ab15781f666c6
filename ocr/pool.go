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
	// Languages are Tesseract language codes. Default: eng, chi_sim, chi_tra.
	Languages []string
	// Duration, when set, observes the seconds each Read spends in Tesseract.
	Duration prometheus.Observer
}

// DefaultLanguages are read when Options.Languages is empty.
var DefaultLanguages = []string{"eng", "chi_sim", "chi_tra"}

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
			return fmt.Errorf("ocr: tesseract language %q is not installed (have %s)", l, strings.Join(have, ", "))
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
// configured languages, which reads whole pages, and, when more than one
// language is configured, one for English alone and one for Chinese alone,
// which read lines. A line is read first with the cheapest model that may
// fit it (English: several times faster than Chinese) and again with Chinese
// only when that first read is doubtful.
type worker struct {
	all     *gosseract.Client
	eng     *gosseract.Client // nil unless eng is configured with other languages
	chinese *gosseract.Client // nil unless chi_sim is configured with other languages
	// traditional reads again, with chi_tra, a Chinese line in which the
	// Simplified model doubts a character (see readChinese); nil unless
	// chi_tra is configured with chi_sim.
	traditional *gosseract.Client
	reads       map[*gosseract.Client]int // line reads per client, for tests
	inited      map[*gosseract.Client]bool
}

func newWorker(langs []string) (*worker, error) {
	w := &worker{all: newClient(), reads: map[*gosseract.Client]int{}, inited: map[*gosseract.Client]bool{}}
	if err := w.all.SetLanguage(langs...); err != nil {
		w.close()
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if len(langs) > 1 {
		for _, l := range langs {
			var c *gosseract.Client
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
				w.close()
				return nil, fmt.Errorf("ocr: %w", err)
			}
			// Lines come dark on light from PrepareLine: Tesseract's retry of
			// doubtful lines inverted would only cost time.
			if err := c.SetVariable("tessedit_do_invert", "0"); err != nil {
				w.close()
				return nil, fmt.Errorf("ocr: %w", err)
			}
		}
	}
	for _, c := range w.clients() {
		// Frames carry no resolution; saying so keeps Tesseract from guessing
		// (and from printing its guess on stderr).
		if err := c.SetVariable("user_defined_dpi", "150"); err != nil {
			w.close()
			return nil, fmt.Errorf("ocr: %w", err)
		}
	}
	// The line clients are initialised now; the mixed-language one only if a
	// whole-frame read ever needs it (it loads every model: seconds of CPU),
	// the Traditional Chinese one only if a line ever needs it.
	if w.traditional != nil && w.chinese == nil {
		w.traditional.Close()
		w.traditional = nil
	}
	for _, c := range w.clients() {
		if c == w.all && len(w.clients()) > 1 || c == w.traditional {
			continue
		}
		if err := w.ready(c); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// ready initialises c once, before its first read.
func (w *worker) ready(c *gosseract.Client) error {
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
func initClient(c *gosseract.Client) error {
	initMu.Lock()
	defer initMu.Unlock()
	blank := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	if err := c.SetImageFromBytes(encodePGM(blank)); err != nil {
		return fmt.Errorf("ocr: init tesseract: %w", err)
	}
	if _, err := c.Text(); err != nil {
		return fmt.Errorf("ocr: init tesseract: %w", err)
	}
	return nil
}

func (w *worker) clients() []*gosseract.Client {
	var cs []*gosseract.Client
	for _, c := range []*gosseract.Client{w.all, w.eng, w.chinese, w.traditional} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

func (w *worker) close() {
	initMu.Lock()
	defer initMu.Unlock()
	for _, c := range w.clients() {
		c.Close()
	}
}

// newClient creates a client under initMu: Tesseract's construction,
// initialisation and destruction touch process-wide state.
func newClient() *gosseract.Client {
	initMu.Lock()
	defer initMu.Unlock()
	return gosseract.NewClient()
}

// read reads the whole page (regions == nil), or each region as a line. An
// empty, non-nil regions means that a detector found no text: nothing is read.
func (w *worker) read(img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	if regions == nil {
		return w.readPage(img)
	}
	return w.readImage(img, regions)
}

// readPage reads img with layout analysis. A line in which the mixed model
// saw Chinese is read again with the Chinese model alone: mixed models misread
// Chinese-only lines (measured: "古驰 高仿 包包" came back as "古驰 ath aS"
// with eng+chi_sim and exactly with chi_sim).
func (w *worker) readPage(img *image.Gray) ([]Line, error) {
	if err := w.ready(w.all); err != nil {
		return nil, err
	}
	lines, err := readPage(w.all, img)
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
		again, err := w.readChinese(PrepareLine(sub))
		if err != nil {
			return nil, err
		}
		if again.Text != "" && again.Confidence > l.Confidence {
			lines[i].Text, lines[i].Confidence = again.Text, again.Confidence
		}
	}
	return lines, nil
}

// readImage reads each region of img as one line. Lines without a letter,
// digit or Han character are dropped, and so is a line whose box mostly
// overlaps another's and whose text that other line already holds.
func (w *worker) readImage(img *image.Gray, regions []image.Rectangle) ([]Line, error) {
	var out []Line
	for _, r := range regions {
		r = r.Intersect(img.Rect)
		if r.Empty() {
			continue
		}
		l, err := w.readRegion(img, r)
		if err != nil {
			return nil, err
		}
		if meaningful(l.Text) {
			l.Box = r
			out = append(out, l)
		}
	}
	return dedupe(out), nil
}

// Thresholds of a doubtful first read, measured on captions like the demo
// clip's: the English model reads English captions with confidence 90-96 and
// Chinese ones, as Latin look-alikes ("at mts eS HT"), with 20-50. Reads of
// stripes and textures come out as symbols and one-letter words.
const (
	sureConfidence = 75
	minWordRatio   = 0.6
)

// readRegion prepares one line crop and reads it: with English first when
// that model is at hand, then with Chinese when the first read saw Han
// characters (the mixed model misreads Chinese-only lines), or was unsure
// or looked like garbage; the more confident reading wins.
func (w *worker) readRegion(img *image.Gray, r image.Rectangle) (Line, error) {
	sub, ok := img.SubImage(around(r, img.Rect)).(*image.Gray)
	if !ok {
		return Line{}, nil
	}
	preps := prepareLines(sub, r)
	first := w.all
	if w.eng != nil {
		first = w.eng
	}
	l, err := w.readLine(first, preps[0])
	if err != nil {
		return Line{}, err
	}
	prep := preps[0]
	// A second binarisation that found glyphs the first lost: read it too
	// and keep the reading that says more with confidence.
	for _, alt := range preps[1:] {
		again, err := w.readLine(first, alt)
		if err != nil {
			return Line{}, err
		}
		if again.beats(l) {
			l, prep = again, alt
		}
	}
	if !l.doubtful() {
		return l.Line, nil
	}
	// Light text with a dark drop shadow, whose glyphs cross a background
	// of their own colour where only the shadow shows them: read again
	// with the shadow moved back onto the glyphs, before Chinese, whose
	// readings of such a half-lost Latin line can be confident.
	if sh := shadowRendering(sub, r); sh != nil {
		again, err := w.readLine(first, sh)
		if err != nil {
			return Line{}, err
		}
		if again.beats(l) {
			l, prep = again, sh
		}
		if !l.doubtful() {
			return l.Line, nil
		}
	}
	// English readings of Chinese are look-alikes whose scores say little
	// about a rendering: Chinese reads the first rendering before anything
	// else is tried, and a confident Chinese reading ends the search.
	var zh reading
	zhRead := w.chinese != nil && (hasHan(l.Text) || l.Confidence < sureConfidence || garbage(l.Text))
	if zhRead {
		if zh, err = w.readChinese(preps[0]); err != nil {
			return Line{}, err
		}
		// Chinese models are less sure of single characters than English
		// ones of words: the line's mean decides.
		if zh.Confidence >= sureConfidence && zh.Confidence > l.Confidence {
			return zh.Line, nil
		}
	}
	// Other hypotheses about which pixels are text: outlined text read by
	// its fill, texture and bars of the text's class left out.
	alts := alternates(sub, r)
	for _, alt := range alts {
		again, err := w.readLine(first, alt)
		if err != nil {
			return Line{}, err
		}
		if again.beats(l) {
			l, prep = again, alt
		}
	}
	if !zhRead || !l.doubtful() && !hasHan(l.Text) {
		return l.Line, nil
	}
	if prep != preps[0] && zh.Confidence < sureConfidence {
		again, err := w.readChinese(prep)
		if err != nil {
			return Line{}, err
		}
		if again.Text != "" && again.Confidence > zh.Confidence {
			zh = again
		}
	}
	// A line Chinese half reads (several Han characters, though unsure)
	// is most likely Chinese over something the first rendering took for
	// glyphs (texture beside a scrolling line, the outline's halo): the
	// other renderings are read in Chinese too, which English, reading
	// Chinese as look-alikes, cannot judge for it.
	if zh.Confidence < sureConfidence && zh.Confidence >= minChineseConfidence && hanCount(zh.Text) >= 2 {
		for _, alt := range alts {
			if alt == prep {
				continue
			}
			again, err := w.readChinese(alt)
			if err != nil {
				return Line{}, err
			}
			if again.Text != "" && again.Confidence > zh.Confidence {
				zh = again
			}
		}
	}
	// The Chinese model is asked for Chinese: a reading of it without Han
	// characters (its look-alikes of a Latin line the English model found
	// hard) wins only over a reading that holds no letters.
	if zh.Text != "" && (zh.Confidence > l.Confidence && hasHan(zh.Text) || !meaningful(l.Text)) {
		return zh.Line, nil
	}
	return l.Line, nil
}

// around returns the part of the frame b that prepareLine looks at for the
// line in box r: r grown by a short word on each side (for glyphs the box
// left out) and by half the line's height above and below.
func around(r, b image.Rectangle) image.Rectangle {
	h := r.Dy()
	return image.Rect(r.Min.X-3*h, r.Min.Y-h/2, r.Max.X+3*h, r.Max.Y+h/2).Intersect(b)
}

// readChinese reads img with the Simplified Chinese model and, when that
// doubts one of the Han characters it read (chi_sim reads Traditional
// characters it lacks, "古馳", as others with confidence 0-55), with the
// Traditional one too; the more confident reading wins. The matcher reads
// Traditional as Simplified.
func (w *worker) readChinese(img *image.Gray) (reading, error) {
	zh, err := w.readLine(w.chinese, img)
	if err != nil || w.traditional == nil || !doubtsHan(zh) {
		return zh, err
	}
	tr, err := w.readLine(w.traditional, img)
	if err != nil {
		return reading{}, err
	}
	if tr.Text != "" && tr.Confidence > zh.Confidence {
		return tr, nil
	}
	return zh, nil
}

// doubtsHan reports whether a word of r holding Han characters has less
// than doubtfulHan confidence: the Simplified model reads the characters it
// knows at 70 and more.
func doubtsHan(r reading) bool {
	for _, wd := range r.words {
		if wd.conf < doubtfulHan && hasHan(wd.text) {
			return true
		}
	}
	return false
}

// doubtfulHan is the confidence below which a Chinese word is read again
// with the Traditional model.
const doubtfulHan = 60

func (w *worker) readLine(c *gosseract.Client, img *image.Gray) (reading, error) {
	if err := w.ready(c); err != nil {
		return reading{}, err
	}
	w.reads[c]++
	return readLine(c, img)
}

// reading is a line as Tesseract read it, word by word.
type reading struct {
	Line
	words []word
}

type word struct {
	text string
	conf float64
}

// worth scores a reading for choosing between readings of one line: its
// letters and digits, each weighed by its word's confidence, so that a
// reading that lost glyphs, or that made letters of a texture, scores less
// than a full, clean one. Words Tesseract doubts much count for nothing.
func (r reading) worth() float64 {
	var s float64
	for _, wd := range r.words {
		if wd.conf < minWordConfidence {
			continue
		}
		n := 0
		for _, c := range wd.text {
			if unicode.IsLetter(c) || unicode.IsDigit(c) {
				n++
			}
		}
		s += float64(n) * wd.conf / 100
	}
	return s
}

// beats tells whether r is a better reading of a line than o: it scores
// higher (worth), and is not garbage unless o is too. A handful of
// confident symbols ("-6 «", Tesseract's reading of a rendering that kept
// only fragments of the glyphs) must not displace a full reading that
// Tesseract doubts (it gives widely spaced letters, "G U C C I", 0–20).
func (r reading) beats(o reading) bool {
	return r.worth() > o.worth() && (!garbage(r.Text) || garbage(o.Text))
}

// doubtful reports whether r may be a misreading worth reading again from
// other renderings of the line: it is unsure, looks like garbage, or has a
// word Tesseract doubts (a clean caption reads at 90 or more, word by word).
func (r reading) doubtful() bool {
	if r.Confidence < sureConfidence || garbage(r.Text) {
		return true
	}
	for _, wd := range r.words {
		if wd.conf < sureWord {
			return true
		}
	}
	return false
}

// sureWord is the confidence below which a word makes a reading doubtful.
const sureWord = 85

// minWordConfidence is the confidence below which a word counts for nothing
// in reading.worth: Tesseract gives words made of texture or of a glyph's
// fragments 0-40.
const minWordConfidence = 45

// minChineseConfidence is the confidence from which an unsure Chinese
// reading with several Han characters is worth reading again from other
// renderings: the Chinese model reads textures and bars as strings of rare
// characters with confidence 0-20.
const minChineseConfidence = 25

func hanCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// meaningful reports whether s holds a letter, a digit or a Han character,
// rather than only punctuation and symbols (Tesseract's reading of a stripe
// or a smudge).
func meaningful(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// garbage reports whether a reading looks like what Latin models make of
// pictures or of Chinese: mostly symbols, or mostly one-letter words.
func garbage(s string) bool {
	var alnum, other, words, short int
	for _, f := range strings.Fields(s) {
		n := 0
		for _, r := range f {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			} else {
				other++
			}
		}
		alnum += n
		words++
		if n == 1 && len(f) == 1 && !unicode.IsDigit(rune(f[0])) && f != "a" && f != "A" && f != "I" {
			short++
		}
	}
	if alnum == 0 {
		return true
	}
	return float64(alnum) < minWordRatio*float64(alnum+other) || 2*short > words
}

// dedupe drops lines whose box lies mostly within another line's box and
// whose text (spaces aside) that line's text contains: the same caption found
// twice by a detector.
func dedupe(lines []Line) []Line {
	key := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	drop := make([]bool, len(lines))
	for i := range lines {
		for j := range lines {
			if i == j || drop[i] || drop[j] {
				continue
			}
			a, b := lines[i], lines[j]
			in := a.Box.Intersect(b.Box)
			area := func(r image.Rectangle) int { return r.Dx() * r.Dy() }
			if in.Empty() || 2*area(in) < area(a.Box) {
				continue
			}
			ka, kb := key(a.Text), key(b.Text)
			// Drop a, the smaller reading, when b holds it; of two equal
			// readings keep the more confident (the first on a tie).
			if strings.Contains(kb, ka) && (len(kb) > len(ka) || b.Confidence > a.Confidence || (b.Confidence == a.Confidence && j < i)) {
				drop[i] = true
			}
		}
	}
	out := lines[:0]
	for i, l := range lines {
		if !drop[i] {
			out = append(out, l)
		}
	}
	return out
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

func readLine(c *gosseract.Client, img *image.Gray) (reading, error) {
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
			if !(unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, next)) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(f)
	}
	return b.String()
}
