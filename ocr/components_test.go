package ocr

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/unionfind"
)

// componentsByPixel is components done pixel by pixel, one union per pair
// of equal neighbours: the plain definition, to check the run-based one by.
func componentsByPixel(img *image.Gray, light []bool, w, h int) (label []int32, comps []comp) {
	var sets unionfind.Sets
	sets.Reset(w * h)
	for y := range h {
		for x := range w {
			i := y*w + x
			if x > 0 && light[i-1] == light[i] {
				sets.Union(i-1, i)
			}
			if y > 0 && light[i-w] == light[i] {
				sets.Union(i-w, i)
			}
		}
	}
	roots := sets.Roots()
	label = make([]int32, w*h)
	for i, r := range roots {
		if int(r) == i {
			label[i] = int32(len(comps))
			x, y := i%w, i/w
			comps = append(comps, comp{x0: x, y0: y, x1: x, y1: y, light: light[i], peak: img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)]})
		} else {
			label[i] = label[r]
		}
	}
	for i, l := range label {
		c := &comps[l]
		x, y := i%w, i/w
		v := img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)]
		if c.light {
			c.peak = max(c.peak, v)
		} else {
			c.peak = min(c.peak, v)
		}
		c.x0, c.x1 = min(c.x0, x), max(c.x1, x)
		c.y0, c.y1 = min(c.y0, y), max(c.y1, y)
		c.area++
		if x == 0 || x == w-1 {
			c.side = true
		}
		if y == 0 || y == h-1 {
			c.edge++
		}
	}
	return label, comps
}

// TestComponentsMatchPixelWise: the run-based labelling gives the labels
// and components of the pixel-wise one, on random pictures of every
// density (specks, blobs, stripes, one row, one column) and on a sub-image.
func TestComponentsMatchPixelWise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		w, h := 1+r.IntN(60), 1+r.IntN(40)
		if n%10 == 0 {
			w = 1
		}
		if n%10 == 1 {
			h = 1
		}
		full := image.NewGray(image.Rect(0, 0, w+7, h+5))
		for i := range full.Pix {
			full.Pix[i] = uint8(r.IntN(256))
		}
		img := full.SubImage(image.Rect(3, 2, 3+w, 2+h)).(*image.Gray)
		light := make([]bool, w*h)
		p := r.Float64()
		for i := range light {
			switch n % 3 {
			case 0:
				light[i] = r.Float64() < p
			case 1: // blobs: runs along rows
				light[i] = i > 0 && light[i-1] != (r.Float64() < p/4)
			default: // stripes
				light[i] = (i/w+i%w/(1+n%5))%2 == 0 != (r.Float64() < 0.05)
			}
		}
		wantL, wantC := componentsByPixel(img, light, w, h)
		gotL, gotC := components(img, light, w, h)
		require.Equal(t, wantL, gotL, "labels of picture %d (%dx%d)", n, w, h)
		require.Equal(t, wantC, gotC, "components of picture %d (%dx%d)", n, w, h)
	}
}

func BenchmarkComponents(b *testing.B) {
	img := renderFrame(b, demoBG, demoCaption("GUCCI bag 1:1 replica", ""))
	sub := img.SubImage(image.Rect(0, img.Rect.Dy()*3/4, img.Rect.Dx(), img.Rect.Dy()*3/4+120)).(*image.Gray)
	w, h := sub.Rect.Dx(), sub.Rect.Dy()
	light := binarise(sub, otsu(sub))
	b.Run("runs", func(b *testing.B) {
		for b.Loop() {
			components(sub, light, w, h)
		}
	})
	b.Run("pixels", func(b *testing.B) {
		for b.Loop() {
			componentsByPixel(sub, light, w, h)
		}
	})
}
