package ocr

import (
	"context"
	"image"

	"github.com/streamwatch/streamwatch/lines"
)

// Pool is the Tesseract engine of the line-reading stage.
var _ lines.Engine = (*Pool)(nil)

// Name returns "tesseract", the name of the engine in the lines it read.
func (p *Pool) Name() string { return "tesseract" }

// ReadLines reads each crop of img as one line (see Read): its Box is the
// line's box, margin included, which the renderings of the line are tuned to.
// A Quick crop whose first read (its first rendering, in English when
// installed) is unsure or garbage is left at that, without the retries of a
// doubtful line; a Light one is read in Chinese too then, and no more.
func (p *Pool) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	regions := make([]image.Rectangle, len(crops))
	var efforts []effort
	for i, c := range crops {
		regions[i] = c.Box
		if e := effortOf(c); e != full {
			if efforts == nil {
				efforts = make([]effort, len(crops))
			}
			efforts[i] = e
		}
	}
	read, err := p.read(ctx, img, regions, efforts)
	if err != nil {
		return nil, err
	}
	out := make([]lines.Reading, len(read))
	for i, l := range read {
		out[i] = lines.Reading{Box: l.Box, Text: l.Text, Confidence: l.Confidence}
	}
	return out, nil
}

// effort is how hard a line is read: with every retry a doubtful line gets,
// or fewer.
type effort uint8

const (
	full effort = iota
	// quick: a first read that is unsure or garbage is the reading (a
	// place where a busy background read as junk).
	quick
	// light: a first read that is unsure or garbage is read again in
	// Chinese, the first rendering only, and the surer reading is kept
	// (the engine is behind: a doubtful line costs a first read and a
	// Chinese one, not the dozen renderings and models of a full read).
	light
)

func effortOf(c lines.Crop) effort {
	switch {
	case c.Quick:
		return quick
	case c.Light:
		return light
	}
	return full
}
