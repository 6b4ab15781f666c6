package ingest

//#cgo pkg-config: libavutil
//#include <libavutil/log.h>
//void sw_set_log_callback(int level);
import "C"

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
)

var (
	libavLogger   atomic.Pointer[slog.Logger]
	logUserinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'"]*@`)
)

// RouteLibavLogs sends libav's log lines at level and above to l, with component=libav,
// instead of stderr, with user:password removed from URLs. libav's logging is process-wide, so call it once, from main. Lines
// are cut at 1 KiB; libav can log a line per corrupt packet, so sample in the handler if
// that matters.
func RouteLibavLogs(l *slog.Logger, level slog.Level) {
	libavLogger.Store(l.With("component", "libav"))
	av := C.AV_LOG_ERROR
	switch {
	case level <= slog.LevelDebug:
		av = C.AV_LOG_VERBOSE
	case level <= slog.LevelInfo:
		av = C.AV_LOG_INFO
	case level <= slog.LevelWarn:
		av = C.AV_LOG_WARNING
	}
	C.sw_set_log_callback(C.int(av))
}

//export swLibavLog
func swLibavLog(level C.int, line *C.char) {
	l := libavLogger.Load()
	if l == nil {
		return
	}
	msg := redactLogLine(C.GoString(line))
	if msg == "" {
		return
	}
	lvl := slog.LevelDebug
	switch {
	case level <= C.AV_LOG_ERROR:
		lvl = slog.LevelError
	case level <= C.AV_LOG_WARNING:
		lvl = slog.LevelWarn
	case level <= C.AV_LOG_INFO:
		lvl = slog.LevelInfo
	}
	l.Log(context.Background(), lvl, msg)
}

// redactLogLine trims a libav log line and removes the credentials of the URLs libav
// quotes (it logs every URL it opens).
func redactLogLine(s string) string {
	return strings.TrimSpace(logUserinfoRE.ReplaceAllString(s, "$1"))
}

// RedactText removes user:password from every URL in s (error texts from peers).
func RedactText(s string) string {
	return logUserinfoRE.ReplaceAllString(s, "$1")
}
