package lines

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
)

// gate remembers the text lines of a stream's last frames so that a line
// whose pixels have not changed is not read again: static captions stay up
// for minutes, and reading is the main cost. A gate belongs to one stream.
//
// check and the entries it returns are used in frame order by one goroutine
// (the one that starts reads); an entry's lines are filed by the goroutine
// that read them, which then settles it, which is why a reading lives in
// its entry and not in the gate.
type gate struct {
	// maxChanged is the largest fraction of a line's pixels that may have
	// flipped between ink and background for the line to count as unchanged.
	maxChanged float64
	entries    []*entry
}

// entry is one remembered line: the pixels it was read from and, once the
// read is done, what the engine made of them.
type entry struct {
	crop      Crop
	threshold uint8
	ink       []bool // per pixel of crop.Box: darker than threshold
	// lines is what was read in crop.Box, filed by the goroutine that read
	// it before it settles the entry; read only after settled is closed.
	lines []Line
	// reads counts the reads of this line's pixels, this one included: a
	// forgotten entry's successor, over unchanged pixels, counts on.
	reads     int
	forgotten atomic.Bool
	settled   chan struct{} // closed by settle
	once      sync.Once
}

// settle says that the entry's lines are filed and whether to forget it is
// decided: a later frame's check may reuse e (or, forgotten, read the line
// again). check waits for it, so that a doubtful reading is retried even
// when later frames come before the read is done (a replay, reads behind).
// Safe to call more than once.
func (e *entry) settle() { e.once.Do(func() { close(e.settled) }) }

// forget keeps later frames from reusing e's reading (a doubtful one, worth
// another try on the next frame): the line is read again, as if it had
// changed. Call it before settle.
func (e *entry) forget() { e.forgotten.Store(true) }

// check sorts crops into lines unchanged since an earlier frame (their
// entries, to reuse) and lines to read, each with a new entry, returned in
// fresh; the caller files their lines and settles them once read. Entries
// not seen in this frame are forgotten.
// A line unchanged since an entry not yet settled waits for it (see settle);
// if ctx ends first, the line is read again.
func (g *gate) check(ctx context.Context, img *image.Gray, crops []Crop) (reused, fresh []*entry) {
	maxChanged := g.maxChanged
	if maxChanged <= 0 {
		maxChanged = 0.02
	}
	var keep []*entry
	for _, c := range crops {
		c.Box = c.Box.Intersect(img.Rect)
		if c.Box.Empty() {
			continue
		}
		e, reads := g.find(ctx, img, c, maxChanged)
		if e != nil {
			reused = append(reused, e)
			keep = append(keep, e)
			continue
		}
		e = newEntry(img, c)
		e.reads = reads + 1
		fresh = append(fresh, e)
		keep = append(keep, e)
	}
	g.entries = keep
	return reused, fresh
}

// find returns the entry to reuse for c, or nil and the reads of an
// unchanged but forgotten entry. A line read along a rotated box (Quad) is
// another line than one read upright in about the same place.
func (g *gate) find(ctx context.Context, img *image.Gray, c Crop, maxChanged float64) (*entry, int) {
	reads := 0
	for _, e := range g.entries {
		if (e.crop.Quad == Quad{}) != (c.Quad == Quad{}) || iou(e.crop.Box, c.Box) < 0.7 || !e.crop.Box.In(img.Rect) {
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

func newEntry(img *image.Gray, c Crop) *entry {
	r := c.Box
	e := &entry{crop: c, ink: make([]bool, r.Dx()*r.Dy()), settled: make(chan struct{})}
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
func (e *entry) changed(img *image.Gray) float64 {
	b := e.crop.Box
	n, i := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):]
		for x := 0; x < b.Dx(); x++ {
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
// a change test (engines binarise on their own).
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
