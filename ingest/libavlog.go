package ingest

//#cgo pkg-config: libavutil
//#include <libavutil/log.h>
//void sw_set_log_callback(int level);
//void sw_keep_log_level_callback(void);
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	logCallbackOnce.Do(func() {}) // ours from now on
	av := C.int(C.AV_LOG_ERROR)
	for _, p := range logLevels { // the least severe first
		if level <= p.slog {
			av = p.av
			break
		}
	}
	C.sw_set_log_callback(av)
}

// logLevels pairs slog's levels with libav's, the least severe first: libav
// logs at a level and at those more severe, which have lower numbers.
var logLevels = []struct {
	slog slog.Level
	av   C.int
}{
	{slog.LevelDebug, C.AV_LOG_VERBOSE},
	{slog.LevelInfo, C.AV_LOG_INFO},
	{slog.LevelWarn, C.AV_LOG_WARNING},
	{slog.LevelError, C.AV_LOG_ERROR},
}

// logCallbackOnce installs the log callback for guards (which read libav's
// errors about playlists) when RouteLibavLogs has not: lines then go to
// stderr, as libav's own callback writes them.
var logCallbackOnce sync.Once

func ensureLogCallback() {
	logCallbackOnce.Do(func() { C.sw_keep_log_level_callback() })
}

//export swLibavLog
func swLibavLog(level C.int, line *C.char) {
	msg := redactLogLine(C.GoString(line))
	if msg == "" {
		return
	}
	l := libavLogger.Load()
	if l == nil {
		fmt.Fprintln(os.Stderr, msg) //nolint:errcheck // stderr: nowhere else to say it
		return
	}
	lvl := slog.LevelDebug
	for _, p := range slices.Backward(logLevels) { // the most severe first
		if level <= p.av {
			lvl = p.slog
			break
		}
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
