package ppocr

import (
	"fmt"
	"image"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// The DB detector's settings, PaddleOCR's and RapidOCR's defaults.
const (
	detThreshold  = 0.3  // probability at which a pixel is text
	detBoxScore   = 0.6  // least mean probability inside a box
	detUnclip     = 1.5  // how far a box is grown: area×ratio/perimeter
	detMinSide    = 3    // shortest side of a box before growing, map pixels
	detMaxBoxes   = 1000 // most candidates of one frame, as upstream
	detMultiple   = 32   // the network's input sides are multiples of it
	defaultDetLen = 960  // default long side of the detector's input
)

// ImageNet's mean and standard deviation, per channel (R, G, B), which the
// detector was trained with; a gray frame feeds the same value to each.
var (
	detMean = [3]float32{0.485, 0.456, 0.406}
	detStd  = [3]float32{0.229, 0.224, 0.225}
)

// Box is a text line the detector found: a rotated rectangle in the
// frame's coordinates and the detector's mean probability inside it.
type Box struct {
	Quad  [4]image.Point // top-left, top-right, bottom-right, bottom-left
	Score float64
	q     quad
	// read: a line PP-OCR read at full scale (a classical fragment
	// widened), not one a scan found.
	read bool
	// coarse: a level box a scan found below full scale, not refined yet
	// (see autoStream.refine).
	coarse bool
}

// detScratch is one session's reusable detector memory.
type detScratch struct {
	input []float32
	on    []bool
	lab   labeler
}

// detSize returns the detector's input size for a w×h region with the
// long side scaled to longSide (never up), each a multiple of 32.
func detSize(w, h, longSide int) (int, int) {
	s := 1.0
	if m := max(w, h); m > longSide {
		s = float64(longSide) / float64(m)
	}
	round := func(v int) int {
		r := int(math.Round(float64(v)*s/detMultiple)) * detMultiple
		return max(r, detMultiple)
	}
	return round(w), round(h)
}

// detect runs the detector on region r of img, scaled so that its long
// side is at most longSide, and returns the boxes found in img's
// coordinates.
func (s *session) detect(img *image.Gray, r image.Rectangle, longSide int) ([]Box, error) {
	r = r.Intersect(img.Rect)
	if r.Dx() < detMultiple/2 || r.Dy() < detMultiple/2 {
		return nil, nil
	}
	dw, dh := detSize(r.Dx(), r.Dy(), longSide)
	plane := dw * dh
	if cap(s.det.input) < 3*plane {
		s.det.input = make([]float32, 3*plane)
	}
	in := s.det.input[:3*plane]
	sx, sy := float64(r.Dx())/float64(dw), float64(r.Dy())/float64(dh)
	resize(img, r, in[:plane], dw, dh, sx, sy)
	for i, v := range in[:plane] {
		v /= 255
		in[i] = (v - detMean[0]) / detStd[0]
		in[plane+i] = (v - detMean[1]) / detStd[1]
		in[2*plane+i] = (v - detMean[2]) / detStd[2]
	}
	sess, err := s.detector()
	if err != nil {
		return nil, err
	}
	x, err := ort.NewTensor(ort.Shape{1, 3, int64(dh), int64(dw)}, in)
	if err != nil {
		return nil, fmt.Errorf("ppocr: detector input: %w", err)
	}
	defer destroy(x)
	out := []ort.Value{nil}
	if err := sess.Run([]ort.Value{x}, out); err != nil {
		return nil, fmt.Errorf("ppocr: detector: %w", err)
	}
	defer destroy(out[0])
	prob, ok := out[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("%w: detector output is %T", ErrModel, out[0])
	}
	return s.boxes(prob.GetData(), dw, dh, r, sx, sy), nil
}

// boxes turns the probability map (w×h) into boxes in img's coordinates,
// as DBPostProcess does: components of the thresholded map, each's
// minimum-area rectangle, kept if its mean probability is high enough,
// grown by the unclip distance.
func (s *session) boxes(prob []float32, w, h int, r image.Rectangle, sx, sy float64) []Box {
	if cap(s.det.on) < len(prob) {
		s.det.on = make([]bool, len(prob))
	}
	on := s.det.on[:len(prob)]
	for i, p := range prob {
		on[i] = p > detThreshold
	}
	var out []Box
	n := 0
	s.det.lab.components(on, w, h, func(border []pt) {
		n++
		if n > detMaxBoxes || len(border) < 4 {
			return
		}
		rc := minAreaRect(hull(border))
		if min(rc.w, rc.h) < detMinSide {
			return
		}
		score := boxScore(prob, w, h, rc)
		if score < detBoxScore {
			return
		}
		d := rc.w * rc.h * detUnclip / (2 * (rc.w + rc.h))
		rc = rc.grow(d)
		if min(rc.w, rc.h) < detMinSide+2 {
			return
		}
		q := rc.corners()
		var b Box
		for i, p := range q {
			p = pt{float64(r.Min.X) + (p.x+0.5)*sx - 0.5, float64(r.Min.Y) + (p.y+0.5)*sy - 0.5}
			p = pt{clampF(p.x, 0, float64(r.Max.X-1)), clampF(p.y, 0, float64(r.Max.Y-1))}
			b.q[i], b.Quad[i] = p, p.image()
		}
		b.Score = score
		out = append(out, b)
	})
	return out
}

// boxScore is the mean probability of the map's pixels inside rc
// (box_score_fast).
func boxScore(prob []float32, w, h int, rc rect) float64 {
	q := rc.corners()
	x0, y0, x1, y1 := w, h, 0, 0
	for _, p := range q {
		x0, y0 = min(x0, int(math.Floor(p.x))), min(y0, int(math.Floor(p.y)))
		x1, y1 = max(x1, int(math.Ceil(p.x))), max(y1, int(math.Ceil(p.y)))
	}
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w-1), min(y1, h-1)
	var sum float64
	n := 0
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			if rc.contains(pt{float64(x), float64(y)}) {
				sum += float64(prob[y*w+x])
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// resize scales region r of img into dst (dw×dh) bilinearly, as
// cv2.resize's INTER_LINEAR: source x = (u+0.5)·sx − 0.5.
func resize(img *image.Gray, r image.Rectangle, dst []float32, dw, dh int, sx, sy float64) {
	for v := range dh {
		fy := float64(r.Min.Y) + (float64(v)+0.5)*sy - 0.5
		row := dst[v*dw : (v+1)*dw]
		for u := range dw {
			fx := float64(r.Min.X) + (float64(u)+0.5)*sx - 0.5
			row[u] = bilinear(img, r, fx, fy)
		}
	}
}

// bilinear samples img at (x, y), clamped to r.
func bilinear(img *image.Gray, r image.Rectangle, x, y float64) float32 {
	x = clampF(x, float64(r.Min.X), float64(r.Max.X-1))
	y = clampF(y, float64(r.Min.Y), float64(r.Max.Y-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, r.Max.X-1), min(y0+1, r.Max.Y-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	o0, o1 := img.PixOffset(x0, y0), img.PixOffset(x0, y1)
	d := x1 - x0
	a := float32(img.Pix[o0])*(1-fx) + float32(img.Pix[o0+d])*fx
	b := float32(img.Pix[o1])*(1-fx) + float32(img.Pix[o1+d])*fx
	return a*(1-fy) + b*fy
}
