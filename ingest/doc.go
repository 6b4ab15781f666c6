// Package ingest opens live and recorded video sources and decodes them into frames.
//
// Inputs are limited to a few URL schemes (ErrUnsupportedScheme for the rest), and libav
// is told which protocols and demuxers it may use for each input: local files may only
// read files, network inputs may only use network protocols (so a remote HLS playlist
// cannot name a local file), and demuxers that would turn non-video input into pictures
// (a .txt file as ANSI art, a still image) are refused. A network input fetches only
// from its own origin and Options.AllowedOrigins: every URL libav opens for it passes
// an io_open hook, and its http and https connections, redirects included, go through
// a loopback forward proxy that checks each one and dials the address it checked.
//
// A blocking libav call (connect, probe, read) is interrupted through the format
// context's interrupt callback when its context ends, when opening exceeds
// Options.OpenTimeout, when a read stalls beyond Options.ReadTimeout, or on Close.
//
// Media time (Frame.MediaMS) counts milliseconds from the first decoded frame and never
// goes backwards; wall-clock time is for people (Options.MediaClock makes it
// reproducible for replays).
//
// Files by concern: Open, the Source and Close (source.go), opening an input
// and its decoder (source_open.go), the decode loop (source_read.go),
// interrupts and timeouts (interrupt.go), the decoder both kinds of source
// share (decoder.go), the media clock (clock.go), display matrices as an
// Orientation (orientation.go), URLs, allowlists and redaction (url.go),
// origins and the pure checks of what a source may fetch (origin.go), the
// io_open hook (guard.go, guard.c), the origin proxy (proxy.go), WHEP
// signalling (whep.go, whep_link.go) and media
// (whep_run.go, whep_decode.go), libav's log (libavlog.go), and supervision:
// reconnects with backoff, stall detection, and the stream State reported
// on every change (supervise.go). Errors are in errors.go.
package ingest
