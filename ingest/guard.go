package ingest

//#cgo pkg-config: libavformat libavutil
//#include <stdlib.h>
//#include "guard.h"
import "C"

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http/httputil"
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// guard enforces a network source's originPolicy on everything libav fetches
// for it. libav calls the input's io_open for the input itself and for every
// playlist, segment and key a demuxer opens; the hook (guard.c) asks check,
// refuses what it refuses, and hands http and https the proxy's URL as
// http_proxy, so that every connection libav's http and tls make, redirects
// included, goes through the proxy, which checks it again and dials the
// address it checked.
type guard struct {
	policy  originPolicy
	top     string // the input's URL as handed to libav: opened as is
	token   string // names the guard to the proxy (the password of its user-info)
	stop    func(error)
	log     *slog.Logger
	forward *httputil.ReverseProxy // the proxy's plain HTTP requests of this guard

	refused  atomic.Pointer[error] // the first refusal
	upstream atomic.Pointer[error] // the latest failure to reach an allowed origin
	handle   cgo.Handle
	c        unsafe.Pointer // the C sw_guard, freed by close
	release  func()         // ends the proxy registration
}

// newGuard makes the guard of input in, which calls stop with the refusal
// when it refuses a fetch (the source's interrupter).
func newGuard(in input, allowed []Origin, stop func(error), log *slog.Logger) *guard {
	g := &guard{
		policy: originPolicy{source: sourceOrigin(in), allowed: allowed},
		top:    in.ffURL,
		token:  rand.Text(),
		stop:   stop,
		log:    log,
	}
	g.forward = forwarder(g)
	return g
}

// install registers g with the proxy and hooks fc's io_open. Call close once
// fc is closed (or its open failed).
func (g *guard) install(fc *astiav.FormatContext) error {
	ensureLogCallback()
	proxyURL, release, err := procProxy.register(g)
	if err != nil {
		return err
	}
	g.release = release
	g.handle = cgo.NewHandle(g)
	cs := C.CString(proxyURL)
	defer C.free(unsafe.Pointer(cs))
	// go-astiav v0.16.0 has no io_open; its FormatContext holds the C pointer
	// as its only field (sw_guard_install checks the AVClass behind it).
	fcc := (*C.AVFormatContext)(*(*unsafe.Pointer)(unsafe.Pointer(fc)))
	if ret := C.sw_guard_install(fcc, C.uintptr_t(g.handle), cs, &g.c); ret < 0 {
		return fmt.Errorf("ingest: guarding the input's opens: %w", astiav.Error(ret))
	}
	return nil
}

// close frees what install made; safe on a guard never installed.
func (g *guard) close() {
	if g.c != nil {
		C.sw_guard_free(g.c)
		g.c = nil
	}
	if g.handle != 0 {
		g.handle.Delete()
		g.handle = 0
	}
	if g.release != nil {
		g.release()
		g.release = nil
	}
}

// deny records and reports a refusal, and stops the source.
func (g *guard) deny(err error) {
	if g.refused.CompareAndSwap(nil, &err) {
		g.log.Debug("fetch refused", "err", err)
	}
	g.stop(err)
}

// failed records that the proxy could not reach an allowed origin.
func (g *guard) failed(err error) { g.upstream.Store(&err) }

// upstreamErr is the latest failure to reach an allowed origin, or nil; nil
// for a nil guard (a local input).
func (g *guard) upstreamErr() error {
	if g == nil {
		return nil
	}
	if p := g.upstream.Load(); p != nil {
		return *p
	}
	return nil
}

//export swCheckOpen
func swCheckOpen(h C.uintptr_t, url *C.char) C.int {
	g, ok := cgo.Handle(h).Value().(*guard)
	if !ok {
		return -1
	}
	viaProxy, err := checkOpen(g.policy, g.top, C.GoString(url))
	if err != nil {
		g.deny(err)
		return -1
	}
	if viaProxy {
		return 1
	}
	return 0
}

// libavRefusals are texts of libav's errors about a URL a playlist names
// that its demuxer refused before opening it (so io_open never saw it): a
// local file without a media extension, a segment URL outside
// allowed_segment_extensions (Debian's 5.1), and the first segment, whose
// URL the guard checks itself (concat:, subfile, other protocols).
var libavRefusals = []string{"blocked for security reasons", "allowed_segment_extensions", "allowed_extensions"}

const firstSegmentError = "Error when loading first segment '"

//export swGuardLog
func swGuardLog(h C.uintptr_t, line *C.char) C.int {
	g, ok := cgo.Handle(h).Value().(*guard)
	if ok && g.libavError(redactLogLine(C.GoString(line))) {
		return 1
	}
	return 0
}

// libavError refuses the source when libav's error line says that it
// refused a URL the playlist names, or could not load a first segment the
// guard would refuse, and reports whether it did.
func (g *guard) libavError(line string) bool {
	for _, r := range libavRefusals {
		if strings.Contains(line, r) {
			g.deny(fmt.Errorf("%w: the playlist names what libav refuses to open: %s", ErrProtocolRefused, libavText(line)))
			return true
		}
	}
	if _, rest, ok := strings.Cut(line, firstSegmentError); ok {
		url, _, _ := strings.Cut(rest, "'")
		if _, err := checkOpen(g.policy, g.top, url); err != nil {
			g.deny(err)
			return true
		}
	}
	return false
}

// libavText is a libav log line without its "[hls @ 0x…] " prefix.
func libavText(line string) string {
	if strings.HasPrefix(line, "[") {
		if _, rest, ok := strings.Cut(line, "] "); ok {
			return rest
		}
	}
	return line
}

// checkOpen decides whether libav may open raw for the network input top
// under policy p, and whether the open goes through the proxy (http and
// https). The input itself opens as is; anything else must be http or https
// (possibly under crypto, for AES-128 segments) from an origin p allows: a
// local file or another protocol is refused with ErrProtocolRefused.
func checkOpen(p originPolicy, top, raw string) (viaProxy bool, err error) {
	if raw == top {
		s := strings.ToLower(schemeOf(top))
		return s == "http" || s == "https", nil
	}
	inner := raw
	if rest, ok := strings.CutPrefix(raw, "crypto+"); ok {
		inner = rest
	} else if rest, ok := strings.CutPrefix(raw, "crypto:"); ok {
		inner = rest
	}
	switch s := schemeOf(inner); s {
	case "http", "https":
		if _, _, err := checkOrigin(p, inner); err != nil {
			return false, err
		}
		return true, nil
	case "", "file":
		return false, fmt.Errorf("%w: a network source may not open local files: %s", ErrProtocolRefused, Redact(raw))
	default:
		return false, fmt.Errorf("%w: a network source may not open %s URLs: %s", ErrProtocolRefused, s, Redact(raw))
	}
}

// schemeOf is the scheme of a URL as libav reads it (case matters), "" for none.
func schemeOf(raw string) string {
	if m := schemeRE.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	return ""
}
