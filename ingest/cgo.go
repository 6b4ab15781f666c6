package ingest

// go-astiav v0.16.0 does not expose AVFrame.best_effort_timestamp; read it directly.

//#cgo pkg-config: libavutil
//#include <libavutil/frame.h>
//static int64_t sw_best_effort_timestamp(const AVFrame *f) { return f->best_effort_timestamp; }
import "C"

import "github.com/asticode/go-astiav"

func bestEffortTimestamp(f *astiav.Frame) int64 {
	return int64(C.sw_best_effort_timestamp((*C.AVFrame)(f.UnsafePointer())))
}
