package lines

import (
	"context"
	"image"
)

// Engine reads text lines from crops of an image. ocr.Pool (Tesseract) is
// one; a second engine is added by implementing Engine, without touching the
// stage. An Engine is shared by all streams of a process and must be safe for
// concurrent use.
type Engine interface {
	// Name names the engine in the lines it read, e.g. "tesseract".
	Name() string
	// Size is how many reads the engine serves at once: a stream keeps up
	// to Size frames in flight.
	Size() int
	// ReadLines reads each crop of img as one line of text. It returns at
	// most one Reading per crop, in the order of crops, each with its
	// crop's Box; a crop in which the engine found no text (or only what
	// another crop's reading already holds) has none.
	ReadLines(ctx context.Context, img *image.Gray, crops []Crop) ([]Reading, error)
}

// Crop is one text line of a frame for an engine to read.
type Crop struct {
	// Text is the box of the line's glyphs as the detector found it; it may
	// cut off the tops of capitals or a first or last glyph.
	Text image.Rectangle
	// Box is Text with the detector's Margin around it, within the frame
	// and no further than halfway to a neighbouring line: what engines
	// crop and read (their renderings are tuned to that margin), and what
	// the stage compares between frames and reports.
	Box image.Rectangle
	// Quad, when not zero, is the line as a rotated rectangle (top-left,
	// top-right, bottom-right, bottom-left, in the frame's coordinates)
	// from a detector that finds tilted and vertical lines; Box is then the
	// rectangle around it. Engines that read along it do; others read Box.
	Quad Quad
	// Quick says that the line lies where earlier frames' lines read as
	// junk (a busy background): an engine leaves it at its first try when
	// that reads as junk too, without the retries it makes of a doubtful
	// line. Engines that make none ignore it.
	Quick bool
	// Light says that the engine is behind (lines wait for a turn): an
	// engine gives a line whose first try reads as junk one more try at
	// most (Chinese, for the Tesseract engine), not every retry of a
	// doubtful line, so that a backlog of junk lines does not hold up the
	// captions behind it.
	Light bool
}

// Quad is the four corners of a rotated rectangle.
type Quad [4]image.Point

// Proposer proposes the text lines of a frame besides, or instead of, those
// of the classical detector (found): an engine's own detector. The Reader
// calls it, for one stream, in frame order; what it returns goes through the
// change gate like the detector's lines.
type Proposer interface {
	Propose(ctx context.Context, img *image.Gray, found []Crop) ([]Crop, error)
}

// Follower is a Proposer that wants to know how the whole picture moved
// since the frame before (motion.Shift of the two: a pan, a tilt, a
// hand-held camera): the Reader tells it just before it asks for the
// frame's proposals, the zero shift for a stream's first frame.
type Follower interface {
	Follow(shift image.Point)
}

// Observer is a Proposer that wants to know what came of the lines it
// proposed: the Reader tells it, for each frame, the crops it had read (not
// those reused) and the readings, from the goroutine that read them. What
// it proposes may depend on what it observed: the Reader proposes a frame's
// lines only once the reads of the frames before are done, so that the
// proposals (and a replay's alerts) do not depend on how fast reads went.
type Observer interface {
	Observe(crops []Crop, read []Reading)
}

// Reading is what an engine read in one crop.
type Reading struct {
	Box        image.Rectangle // the crop's Box
	Text       string
	Confidence float64 // 0..100
	// Engine names the engine that read it when that is not the Engine's
	// Name (an engine made of others); empty otherwise.
	Engine string
	// Chars are the boxes of the characters of Text, in img's coordinates,
	// for engines that report them; nil otherwise.
	Chars []Char
	// Span is where the engine read the line when that reaches past Box
	// (Box is a fragment of a longer line, and Text is the whole line's);
	// zero otherwise.
	Span image.Rectangle
}

// Char is one character of a Reading and its box.
type Char struct {
	Rune rune
	Box  image.Rectangle
}
