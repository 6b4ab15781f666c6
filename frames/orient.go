package frames

import (
	"image"

	"github.com/streamwatch/streamwatch/ingest"
)

// orientTile is the side of the square blocks Upright copies at a time: a
// quarter turn writes a source row down a column of the result, and blocks
// keep both within the cache.
const orientTile = 64

// Upright returns img turned as o says (see ingest.Orientation), in a new
// image whose Rect starts at (0,0); img itself when o is ingest.Upright. A
// quarter turn swaps the picture's width and height.
func Upright(img *image.Gray, o ingest.Orientation) *image.Gray {
	if o == ingest.Upright || o > ingest.Rotate270Mirrored {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dw, dh := w, h
	if o.SwapsSides() {
		dw, dh = h, w
	}
	dst := image.NewGray(image.Rect(0, 0, dw, dh))
	// The source pixel (x, y) goes to (ax·x + bx·y + cx, ay·x + by·y + cy).
	var ax, bx, cx, ay, by, cy int
	switch o.Degrees() {
	case 0:
		ax, by = 1, 1
	case 90:
		bx, cx, ay = -1, h-1, 1
	case 180:
		ax, cx, by, cy = -1, w-1, -1, h-1
	case 270:
		bx, ay, cy = 1, -1, w-1
	}
	if o.Mirror() {
		ax, bx, cx = -ax, -bx, dw-1-cx
	}
	step := ax + ay*dst.Stride // from one source pixel to the next in its row
	for ty := 0; ty < h; ty += orientTile {
		for tx := 0; tx < w; tx += orientTile {
			x1, y1 := min(tx+orientTile, w), min(ty+orientTile, h)
			for y := ty; y < y1; y++ {
				row := img.Pix[img.PixOffset(img.Rect.Min.X+tx, img.Rect.Min.Y+y):][:x1-tx]
				d := (ay*tx+by*y+cy)*dst.Stride + ax*tx + bx*y + cx
				for _, v := range row {
					dst.Pix[d] = v
					d += step
				}
			}
		}
	}
	return dst
}
