package jpegenc

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// scene is a frame-like picture: a gradient under noise with a dark caption bar.
func scene(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := 40 + 150*x/w + r.IntN(30)
			if y > h*3/4 && y < h*3/4+40 && x > w/4 && x < w*3/4 {
				v = 15
			}
			g.SetGray(x, y, color.Gray{Y: uint8(v)})
		}
	}
	return g
}

// meanDiff decodes data and returns its size and its mean absolute
// difference in luma from want.
func meanDiff(t *testing.T, data []byte, want image.Image) float64 {
	t.Helper()
	got, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	wb := want.Bounds()
	if got.Bounds().Dx() != wb.Dx() || got.Bounds().Dy() != wb.Dy() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), wb.Size())
	}
	var sum float64
	for y := range wb.Dy() {
		for x := range wb.Dx() {
			a := color.GrayModel.Convert(got.At(got.Bounds().Min.X+x, got.Bounds().Min.Y+y)).(color.Gray).Y
			b := color.GrayModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y)).(color.Gray).Y
			sum += float64(max(a, b) - min(a, b))
		}
	}
	return sum / float64(wb.Dx()*wb.Dy())
}

func TestEncodeGrayRGBAAndSubImages(t *testing.T) {
	g := scene(320, 180)
	rgba := image.NewRGBA(g.Rect)
	for i, v := range g.Pix {
		rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = v, v, v, 255
	}
	sub := g.SubImage(image.Rect(37, 101, 250, 167)) // stride wider than the image, odd origin
	for name, img := range map[string]image.Image{"gray": g, "rgba": rgba, "gray sub-image": sub,
		"rgba sub-image": rgba.SubImage(image.Rect(3, 5, 201, 99))} {
		data, err := Encode(img, 75)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Noise is what JPEG drops: as close as image/jpeg's at the same quality.
		ref := meanDiff(t, must(t)(goEncode(img, 75)), img)
		if d := meanDiff(t, data, img); d > ref+0.5 {
			t.Errorf("%s: mean luma difference %.2f after a round trip, image/jpeg's %.2f", name, d, ref)
		}
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(must(t)(Encode(g, 75))))
	if err != nil || cfg.ColorModel != color.GrayModel {
		t.Errorf("a gray image gives %v (%v), want a one-component JPEG", cfg.ColorModel, err)
	}
}

func TestEncodeKeepsColour(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+3] = 230, 255 // red
	}
	got, err := jpeg.Decode(bytes.NewReader(must(t)(Encode(img, 90))))
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := got.At(32, 32).RGBA()
	if r>>8 < 200 || g>>8 > 30 || b>>8 > 30 {
		t.Errorf("red comes back as %d,%d,%d", r>>8, g>>8, b>>8)
	}
}

func TestEncodeRefusesBadQuality(t *testing.T) {
	for _, q := range []int{0, -1, 101} {
		if _, err := Encode(scene(16, 16), q); !errors.Is(err, ErrQuality) {
			t.Errorf("quality %d: err %v, want ErrQuality", q, err)
		}
	}
}

func TestEncodeOtherTypesAndEmpty(t *testing.T) {
	y := image.NewYCbCr(image.Rect(0, 0, 48, 32), image.YCbCrSubsampleRatio420)
	if _, err := Encode(y, 75); err != nil {
		t.Errorf("YCbCr through image/jpeg: %v", err)
	}
	if _, err := Encode(image.NewGray(image.Rect(5, 5, 5, 9)), 75); !errors.Is(err, ErrEmpty) {
		t.Errorf("an empty image: err %v, want ErrEmpty", err)
	}
}

func must(t *testing.T) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// BenchmarkEncode compares libjpeg-turbo with image/jpeg on a 1280x720
// evidence frame (RGBA, as alerts draws its boxes) in the same run.
func BenchmarkEncode(b *testing.B) {
	g := scene(1280, 720)
	rgba := image.NewRGBA(g.Rect)
	for i, v := range g.Pix {
		rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = v, v, v, 255
	}
	b.Run("libjpeg-turbo", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(rgba, 75); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			if _, err := goEncode(rgba, 75); err != nil {
				b.Fatal(err)
			}
		}
	})
}
