package lines

import (
	"context"
	"image"
)

// texture remembers where a stream's lines keep reading as junk: a busy
// background (cellular automata, noise, foliage, a crowd) whose pixels never
// stay, so that the gate has nothing to reuse and the detector proposes
// "lines" in it on every frame. A line proposed where earlier reads were
// junk is read quickly (Crop.Quick: the engine's first try only) rather than
// with every retry an engine makes of a doubtful line, except every
// maxQuick+1-th time there, so that a caption an engine reads only on a
// retry (Chinese, outlined) is not read quickly for more than maxQuick
// frames in a row. A caption read as one clears the places it covers.
//
// The memory is a coarse grid over the frame: textures move and boil, and a
// line proposed in one is seldom where the one before was. It learns from
// the reads of frames lagFrames before the one being started, in frame
// order, waiting for them if need be, so that a replay decides alike
// whatever the timing of reads in flight. A texture belongs to one stream;
// start and its frames' learning are called by one goroutine, and a
// frame's reads are filed by the goroutine that read them.
type texture struct {
	bounds image.Rectangle // of the frames the grid covers
	cell   int             // side of a cell, in pixels
	cols   int
	heat   []uint8 // per cell: junk reads in a row over it
	quick  []uint8 // per cell: lines chosen to be read quickly in a row over it
	queue  []*texFrame
}

// texFrame is what was read in one frame, filed once its reads are done.
type texFrame struct {
	done  chan struct{} // closed by file
	reads []texRead
}

type texRead struct {
	box  image.Rectangle
	junk bool
}

const (
	// hotReads is how many junk reads in a row make a place texture.
	hotReads = 1
	// maxQuick is the most quick reads in a row over a place.
	maxQuick = 2
	// lagFrames is how many frames before the one started the memory has
	// learnt from: the frame before may still be being read.
	lagFrames = 2
	// junkConfidence is the confidence below which every reading of a line
	// counts as junk; an engine reads a caption at 70 and more, textures at
	// 0-60.
	junkConfidence = 60
	// cellsPerSide is how many cells span the short side of a frame.
	cellsPerSide = 12
)

// start prepares the memory for a new frame img, learns from the frames
// lagFrames before it and returns the record the new frame's reads are to
// be filed in (see file). It returns ctx.Err() if ctx ends while it waits.
func (t *texture) start(ctx context.Context, img *image.Gray) (*texFrame, error) {
	for len(t.queue) >= lagFrames {
		f := t.queue[0]
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		t.queue = t.queue[1:]
		for _, r := range f.reads {
			t.learn(r)
		}
	}
	if !img.Rect.Eq(t.bounds) {
		t.bounds = img.Rect
		t.cell = max(16, min(img.Rect.Dx(), img.Rect.Dy())/cellsPerSide)
		t.cols = (img.Rect.Dx() + t.cell - 1) / t.cell
		n := t.cols * ((img.Rect.Dy() + t.cell - 1) / t.cell)
		t.heat, t.quick = make([]uint8, n), make([]uint8, n)
	}
	f := &texFrame{done: make(chan struct{})}
	t.queue = append(t.queue, f)
	return f, nil
}

// choose reports whether a line in box is to be read quickly: most of its
// cells (or their neighbours) read as junk hotReads times in a row, and
// none of them was chosen to be read quickly maxQuick times in a row; and
// counts the choice into the cells.
func (t *texture) choose(box image.Rectangle) bool {
	cells := t.cells(box)
	hot, quick := 0, true
	for _, i := range cells {
		if t.near(i) {
			hot++
		}
		if t.quick[i] >= maxQuick {
			quick = false
		}
	}
	quick = quick && len(cells) > 0 && 2*hot >= len(cells)
	for _, i := range cells {
		if quick {
			t.quick[i] = min(t.quick[i]+1, 255)
		} else {
			t.quick[i] = 0
		}
	}
	return quick
}

// near reports whether cell i or one of its neighbours read as junk
// hotReads times in a row: a texture's "lines" come and go around where
// the ones before were.
func (t *texture) near(i int) bool {
	rows := len(t.heat) / t.cols
	cx, cy := i%t.cols, i/t.cols
	for y := max(cy-1, 0); y <= min(cy+1, rows-1); y++ {
		for x := max(cx-1, 0); x <= min(cx+1, t.cols-1); x++ {
			if t.heat[y*t.cols+x] >= hotReads {
				return true
			}
		}
	}
	return false
}

// learn counts read r into the cells it covers: junk heats them, text
// clears them.
func (t *texture) learn(r texRead) {
	for _, i := range t.cells(r.box) {
		if r.junk {
			t.heat[i] = min(t.heat[i]+1, 255)
		} else {
			t.heat[i], t.quick[i] = 0, 0
		}
	}
}

// cells returns the indices of the cells whose centres lie in box, or the
// cell of box's centre when there are none (a line thinner than a cell).
func (t *texture) cells(box image.Rectangle) []int {
	box = box.Intersect(t.bounds)
	if box.Empty() || t.cell == 0 {
		return nil
	}
	b := box.Sub(t.bounds.Min)
	half := t.cell / 2
	var out []int
	for cy := b.Min.Y / t.cell; cy*t.cell+half < b.Max.Y; cy++ {
		if cy*t.cell+half < b.Min.Y {
			continue
		}
		for cx := b.Min.X / t.cell; cx*t.cell+half < b.Max.X; cx++ {
			if cx*t.cell+half >= b.Min.X {
				out = append(out, cy*t.cols+cx)
			}
		}
	}
	if len(out) == 0 {
		c := b.Min.Add(b.Max).Div(2)
		out = append(out, (c.Y/t.cell)*t.cols+c.X/t.cell)
	}
	return out
}

// file records what was read in the frame's fresh entries (nothing when
// the read failed) and lets later frames learn from it. Call it once.
func (f *texFrame) file(fresh []*entry, ok bool) {
	if ok {
		for _, e := range fresh {
			f.reads = append(f.reads, texRead{box: e.crop.Box, junk: junk(e.lines)})
		}
	}
	close(f.done)
}

// junk reports whether the readings of one line say nothing: none, or all
// below junkConfidence.
func junk(ls []Line) bool {
	for _, l := range ls {
		if l.Confidence >= junkConfidence {
			return false
		}
	}
	return true
}
