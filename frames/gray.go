package frames

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// directLuma lists the 8-bit pixel formats whose first plane is the luma (or gray)
// picture itself, so that it can be copied as is. Limited-range formats keep their
// 16–235 levels, which OCR does not mind.
var directLuma = map[astiav.PixelFormat]bool{
	astiav.PixelFormatGray8:    true,
	astiav.PixelFormatYuv410P:  true,
	astiav.PixelFormatYuv411P:  true,
	astiav.PixelFormatYuv420P:  true,
	astiav.PixelFormatYuv422P:  true,
	astiav.PixelFormatYuv440P:  true,
	astiav.PixelFormatYuv444P:  true,
	astiav.PixelFormatYuvj411P: true,
	astiav.PixelFormatYuvj420P: true,
	astiav.PixelFormatYuvj422P: true,
	astiav.PixelFormatYuvj440P: true,
	astiav.PixelFormatYuvj444P: true,
	astiav.PixelFormatYuva420P: true,
	astiav.PixelFormatYuva422P: true,
	astiav.PixelFormatYuva444P: true,
	astiav.PixelFormatNv12:     true,
	astiav.PixelFormatNv21:     true,
}

// ToGray copies the picture of f out of C memory into a new 8-bit gray image whose
// Rect starts at (0,0). Formats whose first plane is 8-bit luma are copied directly;
// others are converted with swscale, through a scaler created and freed for this call
// (use a GrayConverter to keep one across frames).
func ToGray(f *astiav.Frame) (*image.Gray, error) {
	var c GrayConverter
	defer c.Close()
	return c.ToGray(f)
}

// GrayConverter is ToGray with a swscale context and a scratch frame kept across calls,
// for sources whose pixel format needs converting. It is not safe for concurrent use;
// Close frees its C objects.
type GrayConverter struct {
	ssc        *astiav.SoftwareScaleContext
	dst        *astiav.Frame
	w, h       int
	srcFormat  astiav.PixelFormat
	haveScaler bool
}

// ErrNilFrame is returned by ToGray for a nil frame.
var ErrNilFrame = errors.New("frames: nil frame")

// ErrNoPicture is returned by ToGray for a frame of no width or height.
var ErrNoPicture = errors.New("frames: frame without a picture")

// ErrNoData is returned by ToGray for a frame whose picture is not in memory.
var ErrNoData = errors.New("frames: frame has no data in memory")

// ErrLineSize is returned by ToGray for a frame whose rows are shorter than
// its width.
var ErrLineSize = errors.New("frames: line size shorter than width")

// ErrAlloc is returned by ToGray when libav cannot allocate a frame.
var ErrAlloc = errors.New("frames: allocating frame failed")

// ToGray is like the package-level ToGray.
func (c *GrayConverter) ToGray(f *astiav.Frame) (*image.Gray, error) {
	if f == nil {
		return nil, ErrNilFrame
	}
	w, h := f.Width(), f.Height()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w (%dx%d)", ErrNoPicture, w, h)
	}
	pf := f.PixelFormat()
	if directLuma[pf] {
		return copyPlane0(f, w, h)
	}
	if err := c.prepare(w, h, pf); err != nil {
		return nil, err
	}
	if err := c.ssc.ScaleFrame(f, c.dst); err != nil {
		return nil, fmt.Errorf("frames: converting %s to gray: %w", pf.Name(), err)
	}
	return copyPlane0(c.dst, w, h)
}

func (c *GrayConverter) prepare(w, h int, pf astiav.PixelFormat) error {
	if c.haveScaler && c.w == w && c.h == h && c.srcFormat == pf {
		return nil
	}
	c.Close()
	// Same size in and out, so the filter hardly matters; point is the cheapest.
	ssc, err := astiav.CreateSoftwareScaleContext(w, h, pf, w, h, astiav.PixelFormatGray8,
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagPoint))
	if err != nil {
		return fmt.Errorf("frames: no conversion from %s to gray: %w", pf.Name(), err)
	}
	dst := astiav.AllocFrame()
	if dst == nil {
		ssc.Free()
		return ErrAlloc
	}
	dst.SetWidth(w)
	dst.SetHeight(h)
	dst.SetPixelFormat(astiav.PixelFormatGray8)
	if err := dst.AllocBuffer(0); err != nil {
		ssc.Free()
		dst.Free()
		return fmt.Errorf("frames: allocating frame buffer: %w", err)
	}
	c.ssc, c.dst, c.w, c.h, c.srcFormat, c.haveScaler = ssc, dst, w, h, pf, true
	return nil
}

// Close frees the converter's C objects. The converter stays usable.
func (c *GrayConverter) Close() {
	if c.ssc != nil {
		c.ssc.Free()
	}
	if c.dst != nil {
		c.dst.Free()
	}
	c.ssc, c.dst, c.haveScaler = nil, nil, false
}

// copyPlane0 copies w bytes of each of the h rows of f's first plane. Rows may be
// padded (linesize > w) or stored bottom-up (linesize < 0).
func copyPlane0(f *astiav.Frame, w, h int) (*image.Gray, error) {
	p := plane0(f)
	if p == nil {
		return nil, fmt.Errorf("%w (format %s)", ErrNoData, f.PixelFormat().Name())
	}
	stride := f.Linesize()[0]
	if stride < w && -stride < w {
		return nil, fmt.Errorf("%w (%d < %d)", ErrLineSize, stride, w)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		row := unsafe.Slice((*byte)(unsafe.Add(p, y*stride)), w)
		copy(img.Pix[y*w:(y+1)*w], row)
	}
	return img, nil
}
