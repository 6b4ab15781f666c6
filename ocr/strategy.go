package ocr

import (
	"image"
	"strings"

	"github.com/streamwatch/streamwatch/internal/runes"
)

// read reads the whole page (regions == nil), or each region as a line,
// as hard as efforts (nil or per region) says. An empty, non-nil
// regions means that a detector found no text: nothing is read.
func (w *worker) read(img *image.Gray, regions []image.Rectangle, efforts []effort) ([]Line, error) {
	if regions == nil {
		return w.readPage(img)
	}
	return w.readImage(img, regions, efforts)
}

// readPage reads img with layout analysis. A line in which the mixed model
// saw Chinese is read again with the Chinese model alone: mixed models misread
// Chinese-only lines (measured: "古驰 高仿 包包" came back as "古驰 ath aS"
// with eng+chi_sim and exactly with chi_sim).
func (w *worker) readPage(img *image.Gray) ([]Line, error) {
	defer w.forget()
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
		if surer(again.Line, l) {
			lines[i].Text, lines[i].Confidence = again.Text, again.Confidence
		}
	}
	return lines, nil
}

// readImage reads each region of img as one line. Lines without a letter,
// digit or Han character are dropped, and so is a line whose box mostly
// overlaps another's and whose text that other line already holds.
func (w *worker) readImage(img *image.Gray, regions []image.Rectangle, efforts []effort) ([]Line, error) {
	var out []Line
	for i, r := range regions {
		r = r.Intersect(img.Rect)
		if r.Empty() {
			continue
		}
		e := full
		if i < len(efforts) {
			e = efforts[i]
		}
		l, err := w.readCrop(img, r, e)
		if err != nil {
			return nil, err
		}
		if runes.HasLetterOrDigit(l.Text) {
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
	return w.readCrop(img, r, full)
}

// readCrop is readRegion, or, quick, readRegion for a line whose first read
// looks like text and that first read for one whose first read is unsure
// or garbage: a line where a busy background read as junk before, whose
// every retry costs as much as the first read and reads junk again.
func (w *worker) readCrop(img *image.Gray, r image.Rectangle, e effort) (Line, error) {
	defer w.forget()
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
	if e != full && (l.Confidence < quickConfidence || garbage(l.Text) || runes.LettersOrDigits(l.Text) < 2) {
		if e == light && w.chinese != nil {
			return w.lightChinese(l, preps[0])
		}
		return l.Line, nil
	}
	// A second binarisation that found glyphs the first lost: read it too
	// and keep the reading that says more with confidence.
	l, prep, err := w.best(first, l, preps[0], preps[1:])
	if err != nil {
		return Line{}, err
	}
	if !l.doubtful() || numeric(l.Text) {
		return l.Line, nil
	}
	// Light text with a dark drop shadow, whose glyphs cross a background
	// of their own colour where only the shadow shows them: read again
	// with the shadow moved back onto the glyphs, before Chinese, whose
	// readings of such a half-lost Latin line can be confident.
	if sh := shadowRendering(sub, r); sh != nil {
		if l, prep, err = w.best(first, l, prep, []*image.Gray{sh}); err != nil {
			return Line{}, err
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
	if l, prep, err = w.best(first, l, prep, alts); err != nil {
		return Line{}, err
	}
	if !zhRead || !l.doubtful() && !hasHan(l.Text) {
		return l.Line, nil
	}
	if prep != preps[0] && zh.Confidence < sureConfidence {
		if zh, err = w.surerChinese(zh, []*image.Gray{prep}, nil); err != nil {
			return Line{}, err
		}
	}
	// A line Chinese half reads (several Han characters, though unsure)
	// is most likely Chinese over something the first rendering took for
	// glyphs (texture beside a scrolling line, the outline's halo): the
	// other renderings are read in Chinese too, which English, reading
	// Chinese as look-alikes, cannot judge for it.
	if zh.Confidence < sureConfidence && zh.Confidence >= minChineseConfidence && hanCount(zh.Text) >= 2 {
		if zh, err = w.surerChinese(zh, alts, prep); err != nil {
			return Line{}, err
		}
	}
	// The Chinese model is asked for Chinese: a reading of it without Han
	// characters (its look-alikes of a Latin line the English model found
	// hard) wins only over a reading that holds no letters.
	if zh.Text != "" && (zh.Confidence > l.Confidence && hasHan(zh.Text) || !runes.HasLetterOrDigit(l.Text)) {
		return zh.Line, nil
	}
	return l.Line, nil
}

// lightChinese reads prep in Chinese and returns that reading when it is
// sure and surer than l, else l: a light read's second and last try.
func (w *worker) lightChinese(l reading, prep *image.Gray) (Line, error) {
	zh, err := w.readChinese(prep)
	if err != nil {
		return Line{}, err
	}
	if zh.Confidence >= sureConfidence && zh.Confidence > l.Confidence {
		return zh.Line, nil
	}
	return l.Line, nil
}

// quickConfidence is the confidence from which a quick first read is taken
// for text, and the line is read as any other: Tesseract reads the textures
// of busy backgrounds at 0-60.
const quickConfidence = 60

// best reads each of renderings with c and returns the reading that beats
// all others, l (read from prep) included, with the rendering it came from.
func (w *worker) best(c tesseract, l reading, prep *image.Gray, renderings []*image.Gray) (reading, *image.Gray, error) {
	for _, alt := range renderings {
		again, err := w.readLine(c, alt)
		if err != nil {
			return reading{}, nil, err
		}
		if again.beats(l) {
			l, prep = again, alt
		}
	}
	return l, prep, nil
}

// surerChinese reads each of renderings but skip in Chinese and returns the
// surer of zh and those readings.
func (w *worker) surerChinese(zh reading, renderings []*image.Gray, skip *image.Gray) (reading, error) {
	for _, alt := range renderings {
		if alt == skip {
			continue
		}
		again, err := w.readChinese(alt)
		if err != nil {
			return reading{}, err
		}
		if surer(again.Line, zh.Line) {
			zh = again
		}
	}
	return zh, nil
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
	if surer(tr.Line, zh.Line) {
		return tr, nil
	}
	return zh, nil
}

// doubtsHan reports whether a word of r holding Han characters has less
// than doubtfulHan confidence while another has surelyHan or more: the
// Simplified model reads the characters it knows at 70 and more, those it
// lacks at 0-55 ("古馳" as "古鸯"), and the pictures of a busy background,
// which no model reads better, at 0-40 throughout.
func doubtsHan(r reading) bool {
	doubt, sure := false, false
	for _, wd := range r.words {
		if !hasHan(wd.text) {
			continue
		}
		doubt = doubt || wd.conf < doubtfulHan
		sure = sure || wd.conf >= surelyHan
	}
	return doubt && sure
}

// doubtfulHan is the confidence below which a Chinese word is read again
// with the Traditional model, when another is read with surelyHan or more.
const (
	doubtfulHan = 60
	surelyHan   = 70
)

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
