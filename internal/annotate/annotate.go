// Package annotate draws boxes and short text labels on frames, for the
// images people look at: alert evidence and the frames of streamwatch read.
package annotate

import (
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Missing stands in a label for each character the bitmap font has no
// glyph for: everything but printable ASCII.
const Missing = '?'

// face is a 7x13 bitmap font of printable ASCII (no accents, no Chinese).
var face = basicfont.Face7x13

// RGBA copies img into a new RGBA image whose bounds start at (0,0).
func RGBA(img *image.Gray) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}

// Box draws the outline of r, w pixels wide and outside r, in c.
func Box(dst *image.RGBA, r image.Rectangle, c color.Color, w int) {
	r = r.Inset(-w)
	u := image.NewUniform(c)
	for _, edge := range []image.Rectangle{
		{r.Min, image.Pt(r.Max.X, r.Min.Y+w)}, {image.Pt(r.Min.X, r.Max.Y-w), r.Max},
		{r.Min, image.Pt(r.Min.X+w, r.Max.Y)}, {image.Pt(r.Max.X-w, r.Min.Y), r.Max},
	} {
		draw.Draw(dst, edge.Intersect(dst.Rect), u, image.Point{}, draw.Src)
	}
}

// Drawable returns s with every character the font cannot draw replaced by
// Missing.
func Drawable(s string) string {
	return strings.Map(func(r rune) rune {
		if _, ok := face.GlyphAdvance(r); !ok || r < ' ' {
			return Missing
		}
		return r
	}, s)
}

// Label writes text (through Drawable) in fg on a bg band whose bottom left
// corner is at, moved down or left as far as it takes to stay inside dst.
func Label(dst *image.RGBA, at image.Point, text string, fg, bg color.Color) {
	text = Drawable(text)
	const pad = 2
	w := font.MeasureString(face, text).Ceil() + 2*pad
	h := face.Height + 2*pad
	band := image.Rect(at.X, at.Y-h, at.X+w, at.Y)
	if band.Min.Y < dst.Rect.Min.Y {
		band = band.Add(image.Pt(0, dst.Rect.Min.Y-band.Min.Y))
	}
	if band.Max.X > dst.Rect.Max.X {
		band = band.Sub(image.Pt(min(band.Max.X-dst.Rect.Max.X, band.Min.X-dst.Rect.Min.X), 0))
	}
	draw.Draw(dst, band.Intersect(dst.Rect), image.NewUniform(bg), image.Point{}, draw.Src)
	d := font.Drawer{Dst: dst, Src: image.NewUniform(fg), Face: face,
		Dot: fixed.P(band.Min.X+pad, band.Max.Y-pad-face.Descent)}
	d.DrawString(text)
}
