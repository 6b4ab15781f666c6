package frames

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
)

// Gate remembers the text lines of a stream's last frames so that a line whose
// pixels have not changed is not read again: static captions stay up for
// minutes, and OCR is the main cost. A Gate belongs to one stream.
//
// Check and the Entry it returns are used in frame order by one goroutine (the
// one that hands frames to OCR); Entry.Lines is written and read by another
// (the one that takes OCR's results, also in frame order), which is why the
// result of a read lives in the Entry and not in the Gate.
type Gate struct {
	// MaxChanged is the largest fraction of a line's pixels that may have
	// flipped between ink and background for the line to count as unchanged.
	// Default 0.02.
	MaxChanged float64
	entries    []*Entry
}

// Entry is one remembered line: the pixels it was read from and, once the
// read is done, what OCR made of them.
type Entry struct {
	Box       image.Rectangle
	threshold uint8
	ink       []bool // per pixel of Box: darker than threshold
	// Lines is what OCR read in Box, set by the owner of the read; nil until
	// then. Opaque to the gate.
	Lines any
	// reads counts the reads of this line's pixels, this one included: a
	// forgotten entry's successor, over unchanged pixels, counts on.
	reads     int
	forgotten atomic.Bool
	settled   chan struct{} // closed by Settle
	settle    sync.Once
}

// Settle says that the owner of the read has filled in Lines and decided
// whether to Forget: a later frame's Check may reuse e (or, forgotten, read
// the line again). Check waits for it, so that a doubtful reading is retried
// even when later frames come before the read is done (a replay, OCR behind).
// Safe to call from the goroutine that fills in Lines, more than once.
func (e *Entry) Settle() { e.settle.Do(func() { close(e.settled) }) }

// Forget keeps later frames from reusing e's reading (a doubtful one, worth
// another try on the next frame): the line is read again, as if it had
// changed. Safe to call from the goroutine that fills in Lines.
func (e *Entry) Forget() { e.forgotten.Store(true) }

// Reads returns how many times the line's pixels have been read while they
// stayed unchanged, this read included.
func (e *Entry) Reads() int { return e.reads }

// Check sorts regions into lines unchanged since an earlier frame (their
// entries, to reuse) and lines to read; each line to read gets a new entry,
// returned in fresh in the order of toRead, whose Lines the caller fills in
// once read. Entries not seen in this frame are forgotten.
// A line unchanged since an entry not yet settled waits for it (see Settle);
// if ctx ends first, the line is read again.
func (g *Gate) Check(ctx context.Context, img *image.Gray, regions []image.Rectangle) (reused []*Entry, toRead []image.Rectangle, fresh []*Entry) {
	maxChanged := g.MaxChanged
	if maxChanged <= 0 {
		maxChanged = 0.02
	}
	var keep []*Entry
	for _, r := range regions {
		r = r.Intersect(img.Rect)
		if r.Empty() {
			continue
		}
		e, reads := g.find(ctx, img, r, maxChanged)
		if e != nil {
			reused = append(reused, e)
			keep = append(keep, e)
			continue
		}
		e = newEntry(img, r)
		e.reads = reads + 1
		toRead = append(toRead, r)
		fresh = append(fresh, e)
		keep = append(keep, e)
	}
	g.entries = keep
	return reused, toRead, fresh
}

// find returns the entry to reuse for r, or nil and the reads of an
// unchanged but forgotten entry.
func (g *Gate) find(ctx context.Context, img *image.Gray, r image.Rectangle, maxChanged float64) (*Entry, int) {
	reads := 0
	for _, e := range g.entries {
		if iou(e.Box, r) < 0.7 || !e.Box.In(img.Rect) {
			continue
		}
		if e.changed(img) <= maxChanged {
			select {
			case <-e.settled:
			case <-ctx.Done():
				continue
			}
			if !e.forgotten.Load() {
				return e, 0
			}
			reads = max(reads, e.reads)
		}
	}
	return nil, reads
}

func newEntry(img *image.Gray, r image.Rectangle) *Entry {
	e := &Entry{Box: r, ink: make([]bool, r.Dx()*r.Dy()), settled: make(chan struct{})}
	e.threshold = meanThreshold(img, r)
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		for x := 0; x < r.Dx(); x++ {
			e.ink[i] = row[x] < e.threshold
			i++
		}
	}
	return e
}

// changed returns the fraction of e's pixels that crossed e's threshold in img.
func (e *Entry) changed(img *image.Gray) float64 {
	n, i := 0, 0
	for y := e.Box.Min.Y; y < e.Box.Max.Y; y++ {
		row := img.Pix[img.PixOffset(e.Box.Min.X, y):]
		for x := 0; x < e.Box.Dx(); x++ {
			if (row[x] < e.threshold) != e.ink[i] {
				n++
			}
			i++
		}
	}
	return float64(n) / float64(max(len(e.ink), 1))
}

// meanThreshold splits a line's pixels halfway between its mean and the
// further extreme, which separates glyphs from their box robustly enough for
// a change test (the OCR path binarises on its own).
func meanThreshold(img *image.Gray, r image.Rectangle) uint8 {
	var sum, n int
	lo, hi := 255, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		for x := 0; x < r.Dx(); x++ {
			v := int(row[x])
			sum += v
			lo, hi = min(lo, v), max(hi, v)
			n++
		}
	}
	mean := sum / max(n, 1)
	if hi-mean > mean-lo {
		return uint8((mean + hi) / 2)
	}
	return uint8((mean + lo) / 2)
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := in.Dx() * in.Dy()
	return float64(ia) / float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()-ia)
}
