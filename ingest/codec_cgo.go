package ingest

// go-astiav v0.16.0 has no avcodec_flush_buffers nor skip_frame, and its CodecContext hides
// the AVCodecContext pointer; read it from the wrapper's first field, and
// check that it points to a codec context before using it.

//#cgo pkg-config: libavcodec
//#include <libavcodec/avcodec.h>
//static int sw_is_codec_context(void *p) { return p != NULL && ((AVCodecContext*)p)->av_class == avcodec_get_class(); }
//static void sw_flush_buffers(void *p) { avcodec_flush_buffers((AVCodecContext*)p); }
//static void sw_skip_frames(void *p, int level) {
//	((AVCodecContext*)p)->skip_frame = level == 2 ? AVDISCARD_ALL : level == 1 ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
//}
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

// discard is which packets the decoder discards (skipFrames).
type discard int

const (
	discardNone   discard = iota // decode every packet
	discardNonRef                // those whose frames no other frame refers to (AVDISCARD_NONREF)
	discardAll                   // every one: split into units (bad data still fails) but not decoded (AVDISCARD_ALL)
)

// skipFrames makes the decoder behind p (codecContextPointer) discard the
// packets it is sent from now on as d says. Frame threads take the setting
// with each packet.
func skipFrames(p unsafe.Pointer, d discard) { C.sw_skip_frames(p, C.int(d)) }
