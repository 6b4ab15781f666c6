package ingest

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/streamwatch/streamwatch/internal/echo"
)

// allowedSchemes are the URL schemes Open accepts, with whether they reach the network.
var allowedSchemes = map[string]bool{
	"file":  false,
	"http":  true,
	"https": true,
	"rtmp":  true,
	"rtmps": true,
	"rtsp":  true,
	"rtsps": true,
	"srt":   true,
	"udp":   true,
}

const allowedSchemeList = "file, http, https, rtmp, rtmps, rtsp, rtsps, srt, udp"

// liveSchemes are always treated as live; http(s) is live only when it has no duration.
var liveSchemes = map[string]bool{"rtmp": true, "rtmps": true, "rtsp": true, "rtsps": true, "srt": true, "udp": true}

// Protocol whitelists handed to libav (protocol_whitelist). libav applies them to every
// nested open too (HLS segments and keys, RTSP transports, RTMP over TLS), so a remote
// playlist cannot make us read local files, and a local file cannot make us dial out.
// The "rtsp" entry is harmless (RTSP is a demuxer, not a protocol) but keeps the list readable.
const (
	localProtocols   = "file,crypto"
	networkProtocols = "http,https,httpproxy,tcp,tls,crypto,rtmp,rtmps,rtsp,rtp,udp,srt"
)

// formatWhitelist is libav's format_whitelist: the demuxers a source may be read with.
// It keeps out demuxers that turn non-video input into pictures (tty renders any .txt
// file as ANSI art, image2 and friends read stills) and the long tail of rarely fuzzed
// ones. Audio-only demuxers stay in so that such inputs fail with ErrNoVideo and HLS
// audio renditions (raw AAC, MP3, WebVTT) do not fail the whole playlist.
const formatWhitelist = "mov,matroska,webm,flv,live_flv,mpegts,hls,dash,rtsp,avi,mpeg,mpegvideo," +
	"h264,hevc,m4v,ivf,asf,ogg,nut,mxf,mpjpeg," +
	"aac,mp3,ac3,eac3,wav,webvtt"

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// input is a parsed Open argument.
type input struct {
	scheme   string // lower case; "file" for plain paths
	ffURL    string // what libav is asked to open
	path     string // local path, for file inputs
	redacted string // for logs and errors
	network  bool
}

func parseInput(raw string) (input, error) {
	in := input{redacted: Redact(raw)}
	if raw == "" {
		return in, fmt.Errorf("%w: empty URL", ErrBadURL)
	}
	m := schemeRE.FindStringSubmatch(raw)
	if m == nil {
		// A plain path. Prefixing "file:" stops libav from reading a protocol out of
		// the path (for example "subfile,,start,0,end,0,,:/etc/passwd").
		abs, err := filepath.Abs(raw)
		if err != nil {
			return in, fmt.Errorf("ingest: %w", err)
		}
		in.scheme, in.path, in.ffURL = "file", abs, "file:"+abs
		return in, nil
	}
	in.scheme = strings.ToLower(m[1])
	network, ok := allowedSchemes[in.scheme]
	if !ok {
		return in, fmt.Errorf("%w %s (allowed: %s)", ErrUnsupportedScheme, echo.Quote(in.scheme), allowedSchemeList)
	}
	in.network = network
	if in.scheme == "file" {
		u, err := url.Parse(raw)
		if err != nil {
			return in, fmt.Errorf("%w: %w", ErrBadURL, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return in, fmt.Errorf("%w: file URL with a remote host %s", ErrBadURL, echo.Quote(u.Host))
		}
		p := u.Path
		if p == "" {
			p = u.Opaque // file:relative/path
		}
		if p == "" {
			return in, fmt.Errorf("%w: file URL without a path", ErrBadURL)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return in, fmt.Errorf("ingest: %w", err)
		}
		in.path, in.ffURL = abs, "file:"+abs
		return in, nil
	}
	// libav looks protocols up case-sensitively.
	in.ffURL = in.scheme + raw[len(m[1]):]
	return in, nil
}

// LocalPath returns the absolute path of a local file input (a plain path
// or a file: URL) as Open would read it, and false for any other input.
func LocalPath(raw string) (string, bool) {
	in, err := parseInput(raw)
	if err != nil || in.scheme != "file" {
		return "", false
	}
	return in.path, true
}

// sensitiveParams are query parameters whose values Redact hides.
var sensitiveParams = map[string]bool{
	"passphrase": true, "password": true, "passwd": true, "pass": true, "pwd": true,
	"secret": true, "token": true, "access_token": true, "auth": true, "authorization": true,
	"key": true, "sig": true, "signature": true, "x-amz-signature": true, "x-amz-credential": true,
}

var userinfoRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// Redact removes user:password from a URL, and the values of query parameters that
// usually carry secrets (token, passphrase, signature, …), for logs and errors.
// Plain paths are returned unchanged.
func Redact(raw string) string {
	if !schemeRE.MatchString(raw) {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: strip what looks like credentials and the whole query.
		s := userinfoRE.ReplaceAllString(raw, "$1")
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	u.User = nil
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if hasValue && sensitiveParams[strings.ToLower(name)] {
				parts[i] = k + "=REDACTED"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}
