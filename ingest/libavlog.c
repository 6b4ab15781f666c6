#include <stdarg.h>
#include <libavutil/log.h>
#include "_cgo_export.h"
#include "guard.h"

// sw_log_callback formats with av_log_format_line2, which truncates to the buffer.
// (go-astiav v0.16.0's own callback uses vsprintf into a 1024-byte stack buffer, which
// a long URL in a remote playlist can overflow.)
static void sw_log_callback(void *avcl, int level, const char *fmt, va_list vl) {
	if (level > av_log_get_level()) return;
	char line[1024];
	int print_prefix = 1;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
	uintptr_t guard = level <= AV_LOG_ERROR ? sw_guard_of(avcl) : 0;
	// A line the guard turns into the source's error is said once, there.
	if (guard && swGuardLog(guard, line)) return;
	swLibavLog(level, line);
}

void sw_set_log_callback(int level) {
	av_log_set_level(level);
	av_log_set_callback(sw_log_callback);
}

void sw_keep_log_level_callback(void) {
	av_log_set_callback(sw_log_callback);
}
