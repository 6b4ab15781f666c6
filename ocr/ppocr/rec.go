package ppocr

import (
	"fmt"
	"image"
	"math"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// The recogniser's input: 48 pixels high, at least 320 wide (shorter lines
// are padded), as PaddleOCR's rec_image_shape 3,48,320.
const (
	recHeight   = 48
	recMinWidth = 320
	// recVertical is the height over width from which a box is a vertical
	// line, turned 90° counter-clockwise before reading (top comes left).
	recVertical = 1.5
	// recMaxWidth bounds the input of one line (a marquee across a 4K frame
	// at 48 px high is about 3,000 wide).
	recMaxWidth = 4096
)

// recScratch is one session's reusable recogniser memory.
type recScratch struct {
	input []float32
	text  strings.Builder
}

// quadOf returns the corners of an axis-aligned rectangle.
func quadOf(r image.Rectangle) quad {
	x0, y0 := float64(r.Min.X), float64(r.Min.Y)
	x1, y1 := float64(r.Max.X-1), float64(r.Max.Y-1)
	return quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

// recognize reads the line inside q and returns its text and confidence
// (0..100: the mean probability of its characters); empty text when the
// recogniser saw none.
func (s *session) recognize(img *image.Gray, q quad) (string, float64, error) {
	cw := math.Max(q[0].dist(q[1]), q[3].dist(q[2]))
	ch := math.Max(q[0].dist(q[3]), q[1].dist(q[2]))
	if cw < 2 || ch < 2 {
		return "", 0, nil
	}
	vertical := ch/cw >= recVertical
	w, h := cw, ch
	if vertical {
		w, h = ch, cw
	}
	ratio := w / h
	full := min(int(recHeight*math.Max(float64(recMinWidth)/recHeight, ratio)), recMaxWidth)
	rw := min(int(math.Ceil(recHeight*ratio)), full)
	plane := recHeight * full
	if cap(s.rec.input) < 3*plane {
		s.rec.input = make([]float32, 3*plane)
	}
	in := s.rec.input[:3*plane]
	clear(in)
	sample(img, q, vertical, in[:plane], rw, full, h/recHeight)
	copy(in[plane:], in[:plane])
	copy(in[2*plane:], in[:plane])
	sess, err := s.recognizer()
	if err != nil {
		return "", 0, err
	}
	x, err := ort.NewTensor(ort.Shape{1, 3, recHeight, int64(full)}, in)
	if err != nil {
		return "", 0, fmt.Errorf("ppocr: recogniser input: %w", err)
	}
	defer destroy(x)
	out := []ort.Value{nil}
	s.e.recognised.Add(1)
	if err := sess.Run([]ort.Value{x}, out); err != nil {
		return "", 0, fmt.Errorf("ppocr: recogniser: %w", err)
	}
	defer destroy(out[0])
	prob, ok := out[0].(*ort.Tensor[float32])
	if !ok {
		return "", 0, fmt.Errorf("%w: recogniser output is %T", ErrModel, out[0])
	}
	shape := prob.GetShape()
	if len(shape) != 3 || int(shape[2]) != len(s.e.keys) {
		return "", 0, fmt.Errorf("%w: recogniser output shape %v for %d classes", ErrModel, shape, len(s.e.keys))
	}
	text, conf := s.decode(prob.GetData(), int(shape[1]), int(shape[2]))
	return text, conf, nil
}

// sample fills dst (rw of width pixels per row, recHeight rows; the rest
// stays padding) with the line inside q, normalised to −1..1, turned 90°
// counter-clockwise when vertical. scale is source pixels per output pixel:
// above 1.5 each output pixel averages a few samples, so that a tall line
// does not alias.
func sample(img *image.Gray, q quad, vertical bool, dst []float32, rw, width int, scale float64) {
	ss := 1
	if scale > 1.5 {
		ss = min(int(math.Ceil(scale)), 4)
	}
	r := img.Rect
	inv := 1 / float32(ss*ss)
	for v := range recHeight {
		for u := range rw {
			var acc float32
			for j := range ss {
				for i := range ss {
					s := (float64(u) + (float64(i)+0.5)/float64(ss)) / float64(rw)
					t := (float64(v) + (float64(j)+0.5)/float64(ss)) / recHeight
					if vertical {
						s, t = 1-t, s
					}
					p := lerp(lerp(q[0], q[1], s), lerp(q[3], q[2], s), t)
					acc += bilinear(img, r, p.x, p.y)
				}
			}
			dst[v*width+u] = (acc*inv/255 - 0.5) / 0.5
		}
	}
}

// decode is CTC's greedy decoding of T steps of C class probabilities:
// the most likely class per step, repeats merged, blanks dropped; the
// confidence is the mean probability of the characters kept, 0..100.
func (s *session) decode(prob []float32, steps, classes int) (string, float64) {
	b := &s.rec.text
	b.Reset()
	prev := 0
	var sum float64
	n := 0
	for t := range steps {
		row := prob[t*classes : (t+1)*classes]
		best, p := 0, row[0]
		for c, v := range row {
			if v > p {
				best, p = c, v
			}
		}
		if best != 0 && best != prev {
			b.WriteString(s.e.keys[best])
			sum += float64(p)
			n++
		}
		prev = best
	}
	if n == 0 {
		return "", 0
	}
	return strings.TrimSpace(b.String()), 100 * sum / float64(n)
}
