package ingest

// go-astiav v0.16.0 has no avcodec_flush_buffers, and its CodecContext hides
// the AVCodecContext pointer; read it from the wrapper's first field, and
// check that it points to a codec context before using it.

//#cgo pkg-config: libavcodec
//#include <libavcodec/avcodec.h>
//static int sw_is_codec_context(void *p) { return p != NULL && ((AVCodecContext*)p)->av_class == avcodec_get_class(); }
//static void sw_flush_buffers(void *p) { avcodec_flush_buffers((AVCodecContext*)p); }
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// codecContextPointer is the AVCodecContext that cc wraps: go-astiav's
// CodecContext holds it as its first field.
func codecContextPointer(cc *astiav.CodecContext) (unsafe.Pointer, error) {
	if cc == nil {
		return nil, fmt.Errorf("%w: no codec context", ErrAlloc)
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(cc))
	if C.sw_is_codec_context(p) == 0 {
		return nil, ErrCodecLayout
	}
	return p, nil
}

// flushBuffers resets the decoder behind p (codecContextPointer) so that it
// takes packets again from a keyframe on, after a drain or in mid-stream.
func flushBuffers(p unsafe.Pointer) { C.sw_flush_buffers(p) }
