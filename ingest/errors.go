package ingest

import "errors"

// Sentinel errors; match them with errors.Is. A Supervised stream gives up
// at once on ErrUnsupportedScheme, ErrBadURL, ErrNoVideo, ErrNoDecoder and
// ErrWHEPRefused, ends on ErrOriginRefused, ErrAddressRefused and
// ErrProtocolRefused even after
// frames flowed, and retries the others (see IsPermanent).
var (
	// ErrNoVideo means the input has no video stream to decode.
	ErrNoVideo = errors.New("ingest: no video stream")
	// ErrUnsupportedScheme means the URL scheme is not one Open accepts.
	ErrUnsupportedScheme = errors.New("ingest: unsupported URL scheme")
	// ErrTimeout means opening took longer than Options.OpenTimeout, or a read
	// stalled for longer than Options.ReadTimeout.
	ErrTimeout = errors.New("ingest: timed out")
	// ErrBadURL means the URL cannot be parsed or names nothing to open.
	ErrBadURL = errors.New("ingest: bad URL")
	// ErrNoDecoder means libav has no decoder for the video codec.
	ErrNoDecoder = errors.New("ingest: no decoder")
	// ErrClosed means the source was closed, possibly while Run was reading.
	ErrClosed = errors.New("ingest: source closed")
	// ErrIsDirectory means a local path names a directory, not a file.
	ErrIsDirectory = errors.New("ingest: is a directory")
	// ErrAlloc means libav could not allocate one of its objects.
	ErrAlloc = errors.New("ingest: allocation failed")
	// ErrRunTwice means Run was called again on a stream that ran already.
	ErrRunTwice = errors.New("ingest: Run called twice")
	// ErrEndOfStream means a live stream ended, as a supervised one should not.
	ErrEndOfStream = errors.New("ingest: end of stream")
	// ErrWHEPURL means a whep+http(s) URL cannot be parsed or has no host.
	ErrWHEPURL = errors.New("ingest: bad WHEP URL")
	// ErrWHEPAnswer means a WHEP endpoint's answer holds no SDP, or no
	// video the decoder takes (H.264, VP8).
	ErrWHEPAnswer = errors.New("ingest: bad WHEP answer")
	// ErrWHEPSession means a WHEP session could not be ended (DELETE); the
	// endpoint ends it on its own when ICE times out.
	ErrWHEPSession = errors.New("ingest: WHEP session not ended")
	// ErrWebRTCFailed means the WebRTC connection of a WHEP session failed.
	ErrWebRTCFailed = errors.New("ingest: WebRTC connection failed")
	// ErrUnsupportedCodec means a WHEP session offers a codec ingest does not
	// decode.
	ErrUnsupportedCodec = errors.New("ingest: unsupported WebRTC codec")
	// ErrBadOrigin means an allowed origin (Options.AllowedOrigins) is not
	// scheme://host[:port].
	ErrBadOrigin = errors.New("ingest: bad origin")
	// ErrOriginRefused means a source (its playlist, a redirect, a key)
	// asked to fetch from an origin that is neither its own nor allowed.
	ErrOriginRefused = errors.New("ingest: origin refused")
	// ErrAddressRefused means a source asked to fetch from an origin
	// allowed only by a pattern that is at a private or local address.
	ErrAddressRefused = errors.New("ingest: address refused")
	// ErrProtocolRefused means a network source asked libav to open
	// something other than http or https from its playlist: a local file,
	// another protocol.
	ErrProtocolRefused = errors.New("ingest: protocol refused")
	errNoHost          = errors.New("no host")
	errOriginScheme    = errors.New("want http or https")
	errHostName        = errors.New("not a host name")
	errPort            = errors.New("want a port from 1 to 65535")
	// ErrCodecLayout means go-astiav's CodecContext is not laid out as this
	// package expects (another go-astiav version): keyframe-first decoding
	// cannot reset the decoder; use --decode all.
	ErrCodecLayout = errors.New("ingest: unexpected go-astiav codec context layout")
	// ErrDecodeMode means a decode mode other than auto, keyframes or all.
	ErrDecodeMode = errors.New("ingest: unknown decode mode")
)
