package frames

// go-astiav v0.16.0 gives plane data only as a copy of linesize*height bytes (and
// panics on the negative linesize of bottom-up pictures); read the pointer directly so
// that ToGray copies each row exactly once.

//#cgo pkg-config: libavutil
//#include <libavutil/frame.h>
//static uint8_t *sw_plane0(const AVFrame *f) { return f->data[0]; }
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// plane0 returns the first data plane of f, or nil (a hardware frame, an empty frame).
func plane0(f *astiav.Frame) unsafe.Pointer {
	return unsafe.Pointer(C.sw_plane0((*C.AVFrame)(f.UnsafePointer())))
}
