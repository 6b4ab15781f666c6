// Package jpegenc encodes images as baseline JPEG with libjpeg-turbo (its
// SIMD colour conversion, DCT and Huffman coding), several times faster than
// image/jpeg: evidence frames are encoded while a burst of alerts waits.
package jpegenc

/*
#cgo LDFLAGS: -ljpeg
#include <stdlib.h>
#include "jpegenc.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"unsafe"
)

// ErrEncode is returned, wrapped with libjpeg's message, when libjpeg fails.
var ErrEncode = errors.New("jpegenc: libjpeg")

// ErrEmpty is returned for an image without pixels.
var ErrEmpty = errors.New("jpegenc: empty image")

// ErrQuality is returned for a quality outside 1..100.
var ErrQuality = errors.New("jpegenc: quality outside 1..100")

// Encode returns img as a JPEG of the given quality (1..100, as
// image/jpeg's). Gray images give one-component files, RGBA ones YCbCr 4:2:0
// (alpha is ignored); other image types go through image/jpeg.
func Encode(img image.Image, quality int) ([]byte, error) {
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("%w: %d", ErrQuality, quality)
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("%w: %v", ErrEmpty, b)
	}
	switch m := img.(type) {
	case *image.Gray:
		return encode(m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.Stride, false, quality)
	case *image.RGBA:
		return encode(m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.Stride, true, quality)
	}
	return goEncode(img, quality)
}

func encode(pix []byte, w, h, stride int, rgba bool, quality int) ([]byte, error) {
	var (
		out    *C.uchar
		outLen C.ulong
		msg    [200]C.char
	)
	var isRGBA C.int
	if rgba {
		isRGBA = 1
	}
	rc := C.sw_jpeg_encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(stride), isRGBA,
		C.int(quality), &out, &outLen, &msg[0], C.int(len(msg)))
	if rc != 0 {
		return nil, fmt.Errorf("%w: %s", ErrEncode, C.GoString(&msg[0]))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
}

func goEncode(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("jpegenc: %w", err)
	}
	return buf.Bytes(), nil
}
