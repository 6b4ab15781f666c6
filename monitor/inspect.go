package monitor

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"github.com/streamwatch/streamwatch/internal/annotate"
	"github.com/streamwatch/streamwatch/internal/jpegenc"
	"github.com/streamwatch/streamwatch/match"
)

// ErrNoImage is returned by Inspection.JPEG for a frame without its picture.
var ErrNoImage = errors.New("monitor: frame has no image")

// FrameReport is an Inspection as streamwatch read prints it: one JSON
// object per sampled frame (the README documents each field).
type FrameReport struct {
	Seq     int64        `json:"seq"`
	MediaMS int64        `json:"media_ms"`
	Frame   string       `json:"frame,omitempty"` // the annotated JPEG, with --frames-dir
	Lines   []LineReport `json:"lines"`
	Hits    []HitReport  `json:"hits"`
}

// LineReport is one text line of a FrameReport.
type LineReport struct {
	Index      int          `json:"index"` // the line's number in the frame, drawn beside its box
	Box        match.Box    `json:"box"`
	Text       string       `json:"text"`
	Confidence float64      `json:"confidence"`
	Engine     string       `json:"engine"`
	Reused     bool         `json:"reused"`
	Brands     []string     `json:"brands"`
	Phrases    []string     `json:"phrases"`
	Spans      []match.Span `json:"spans"`
}

// HitReport is a rule that held at the frame.
type HitReport struct {
	Rule     string         `json:"rule"`
	Severity match.Severity `json:"severity"`
	Brands   []string       `json:"brands"`
	Phrases  []string       `json:"phrases"`
}

// Report returns the inspection as read prints it.
func (in Inspection) Report() FrameReport {
	r := FrameReport{Seq: in.Frame.Seq, MediaMS: in.Frame.MediaMS, Lines: make([]LineReport, len(in.Lines)), Hits: make([]HitReport, len(in.Hits))}
	for i, l := range in.Lines {
		res := in.Matches[i]
		b := l.Extent()
		r.Lines[i] = LineReport{Index: i, Box: match.Box{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy()},
			Text: l.Text, Confidence: math.Round(l.Confidence*10) / 10, Engine: l.Engine, Reused: l.Reused,
			Brands: res.Brands, Phrases: res.Phrases, Spans: res.Spans}
	}
	for i, h := range in.Hits {
		r.Hits[i] = HitReport{Rule: h.Rule, Severity: h.Severity, Brands: nonNil(h.Brands), Phrases: nonNil(h.Phrases)}
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Colours of the boxes of an annotated frame.
var (
	colourRead    = color.RGBA{G: 200, A: 255}                // read in this frame
	colourReused  = color.RGBA{R: 40, G: 120, B: 255, A: 255} // reading kept from an earlier frame
	colourMatched = color.RGBA{R: 230, A: 255}                // a brand or phrase was found in it
	colourLabel   = color.RGBA{R: 255, G: 255, B: 255, A: 255}
	colourBand    = color.RGBA{A: 255}
)

// JPEG renders the frame with each line's box drawn and labelled with its
// index, confidence and text (characters the bitmap font lacks as
// annotate.Missing).
func (in Inspection) JPEG() ([]byte, error) {
	img := in.Frame.Image
	if img == nil {
		return nil, fmt.Errorf("%w at %d ms", ErrNoImage, in.Frame.MediaMS)
	}
	dst := annotate.RGBA(img)
	off := img.Bounds().Min
	for i, l := range in.Lines {
		c := colourRead
		switch {
		case len(in.Matches[i].Spans) > 0:
			c = colourMatched
		case l.Reused:
			c = colourReused
		}
		box := l.Extent().Sub(off)
		annotate.Box(dst, box, c, 2)
		label := "#" + strconv.Itoa(i) + " " + strconv.Itoa(int(math.Round(l.Confidence))) + "% " + l.Text
		annotate.Label(dst, image.Pt(box.Min.X-2, box.Min.Y-2), label, colourLabel, colourBand)
	}
	data, err := jpegenc.Encode(dst, 85)
	if err != nil {
		return nil, fmt.Errorf("monitor: encode frame at %d ms: %w", in.Frame.MediaMS, err)
	}
	return data, nil
}
