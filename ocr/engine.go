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
// doubtful line.
func (p *Pool) ReadLines(ctx context.Context, img *image.Gray, crops []lines.Crop) ([]lines.Reading, error) {
	regions := make([]image.Rectangle, len(crops))
	var quick []bool
	for i, c := range crops {
		regions[i] = c.Box
		if c.Quick {
			if quick == nil {
				quick = make([]bool, len(crops))
			}
			quick[i] = true
		}
	}
	read, err := p.read(ctx, img, regions, quick)
	if err != nil {
		return nil, err
	}
	out := make([]lines.Reading, len(read))
	for i, l := range read {
		out[i] = lines.Reading{Box: l.Box, Text: l.Text, Confidence: l.Confidence}
	}
	return out, nil
}
