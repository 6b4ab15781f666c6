package lines

import (
	"context"
	"image"

	"github.com/streamwatch/streamwatch/internal/runes"
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
	grid          // heat per cell: junk reads in a row over it
	quick []uint8 // per cell: lines chosen to be read quickly in a row over it
	queue []*texFrame
	// recent are whether the last recentReads reads learnt were junk, a
	// ring; junkReads counts the junk ones.
	recent    [recentReads]bool
	next      int
	junkReads int
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
	// recentReads is how many of a stream's last reads tell whether it is
	// busy: at least busyReads of them junk.
	recentReads = 8
	busyReads   = 6
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
	if t.fit(img.Rect) {
		t.quick = make([]uint8, len(t.heat))
	}
	f := &texFrame{done: make(chan struct{})}
	t.queue = append(t.queue, f)
	return f, nil
}

// choose reports whether a line in box is to be read quickly: most of its
// cells (or their neighbours) read as junk hotReads times in a row, or the
// stream is busy (most of its last reads were junk: the lines of a sparse
// texture seldom come back to a place); but not when a cell of box was
// chosen so maxQuick times in a row, nor, in a busy stream, for a retry
// (the frame before had a line in its row: a caption is read fully from
// its second frame on, a sparse texture's lines seldom stay). It counts
// the choice into the cells.
func (t *texture) choose(box image.Rectangle, retry bool) bool {
	cells := t.cells(box)
	quick := len(cells) > 0 && (!retry && t.junkReads >= busyReads || t.mostlyNear(box, hotReads))
	for _, i := range cells {
		if t.quick[i] >= maxQuick {
			quick = false
		}
	}
	for _, i := range cells {
		if quick {
			t.quick[i] = min(t.quick[i]+1, 255)
		} else {
			t.quick[i] = 0
		}
	}
	return quick
}

// learn counts read r into the cells it covers: junk heats them, text
// clears them.
func (t *texture) learn(r texRead) {
	if t.recent[t.next] {
		t.junkReads--
	}
	if t.recent[t.next] = r.junk; r.junk {
		t.junkReads++
	}
	t.next = (t.next + 1) % recentReads
	for _, i := range t.cells(r.box) {
		if r.junk {
			t.heat[i] = min(t.heat[i]+1, 255)
		} else {
			t.heat[i], t.quick[i] = 0, 0
		}
	}
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

// junk reports whether the readings of one line say nothing: none, or
// each below junkConfidence or of a lone letter or digit (what textures
// read as, surely: "a", "1").
func junk(ls []Line) bool {
	for _, l := range ls {
		if l.Confidence >= junkConfidence && runes.LettersOrDigits(l.Text) > 1 {
			return false
		}
	}
	return true
}
