package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// WHEP errors; a *WHEPStatusError wraps one of them. A supervisor retries
// ErrWHEPUnavailable later and gives up on ErrWHEPRefused.
var (
	// ErrWHEPRefused means the WHEP endpoint answered 4xx (other than 408 and 429): the
	// URL, the token or the offer is wrong, and retrying will not help.
	ErrWHEPRefused = errors.New("ingest: WHEP endpoint refused the session")
	// ErrWHEPUnavailable means the WHEP endpoint answered 5xx, 408 or 429: try again later.
	ErrWHEPUnavailable = errors.New("ingest: WHEP endpoint unavailable")
)

// WHEPStatusError is a WHEP endpoint's answer other than 201 Created.
type WHEPStatusError struct {
	Endpoint string // redacted
	Status   int
	Message  string // the start of the response body, printable characters only
}

func (e *WHEPStatusError) Error() string {
	s := fmt.Sprintf("WHEP endpoint %s answered %d %s", e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether trying again later may succeed (5xx, 408, 429).
func (e *WHEPStatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
}

// Unwrap returns ErrWHEPUnavailable for a temporary failure, else ErrWHEPRefused.
func (e *WHEPStatusError) Unwrap() error {
	if e.Temporary() {
		return ErrWHEPUnavailable
	}
	return ErrWHEPRefused
}

// whepDeleteTimeout bounds the DELETE of the session on Close.
const whepDeleteTimeout = 5 * time.Second

// whepStream is a WHEP session: a receive-only PeerConnection whose video track is
// depacketized, reordered and decoded with libav.
type whepStream struct {
	opts     Options
	log      *slog.Logger
	endpoint string       // http(s) URL without credentials
	redacted string       // the URL as given, for logs and errors
	token    string       // bearer token, from the URL's userinfo; never logged
	client   *http.Client // whepClient(policy)
	policy   originPolicy // the endpoint's origin and Options.AllowedOrigins

	pc       *webrtc.PeerConnection
	resource string // session URL from Location, DELETEd on Close; "" if none

	tracks   chan *webrtc.TrackRemote // first video track, from OnTrack
	failed   chan struct{}            // closed when the connection fails
	failOnce sync.Once
	done     chan struct{} // closed by Close

	infoMu sync.Mutex
	info   Info

	runGuard
}

var _ Stream = (*whepStream)(nil)

// parseWHEP splits a whep+http(s) URL into the HTTP endpoint and the bearer token,
// taken from the userinfo: "whep+https://:TOKEN@host/path" (or "TOKEN@host").
func parseWHEP(raw string) (endpoint, token string, err error) {
	_, rest, ok := strings.Cut(raw, "+")
	if !ok || !IsWHEP(raw) {
		return "", "", fmt.Errorf("%w: not a whep+http(s) URL", ErrUnsupportedScheme)
	}
	u, err := url.Parse(rest)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s", ErrWHEPURL, Redact(err.Error()))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Host == "" {
		return "", "", fmt.Errorf("%w: no host", ErrWHEPURL)
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			token = p
		} else {
			token = u.User.Username()
		}
		u.User = nil
	}
	return u.String(), token, nil
}

// openWHEP offers to receive video from the WHEP endpoint url, waits for the answer
// and returns the session; media flows in Run.
func openWHEP(ctx context.Context, raw string, opts Options) (Stream, error) {
	opts = opts.withDefaults()
	redacted := Redact(raw)
	endpoint, token, err := parseWHEP(raw)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redacted, err)
	}
	s := &whepStream{
		opts:     opts,
		log:      opts.Logger,
		endpoint: endpoint,
		redacted: redacted,
		token:    token,
		policy:   whepPolicy(endpoint, opts.AllowedOrigins),
		tracks:   make(chan *webrtc.TrackRemote, 1),
		failed:   make(chan struct{}),
		done:     make(chan struct{}),
		info:     Info{Live: true, StartWall: time.Now()},
	}
	s.client = whepClient(s.policy)
	ctx, cancel := context.WithTimeout(ctx, opts.OpenTimeout)
	defer cancel()
	if err := s.open(ctx); err != nil {
		_ = s.Close() // what failed is the open error returned; Close only tidies up
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
			err = fmt.Errorf("%w: no WebRTC session within %s: %w", ErrTimeout, opts.OpenTimeout, err)
		}
		return nil, fmt.Errorf("open %s: %w", redacted, err)
	}
	s.log.Info("source opened", "url", redacted, "format", "whep", "codec", s.info.Codec, "live", true)
	return s, nil
}

// isLoopbackHost reports whether host (no port) names this machine's loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// whepCodecs are the video codecs offered, H.264 first (cheapest to decode, and what
// most WHEP servers relay), then VP8. No RTX: retransmissions come on the main SSRC.
func whepCodecs() []webrtc.RTPCodecParameters {
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	h264 := func(pt webrtc.PayloadType, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: fb}}
	}
	return []webrtc.RTPCodecParameters{
		h264(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
		h264(106, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
		h264(127, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
		h264(112, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"),
		h264(104, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"),
		h264(108, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
		{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}},
	}
}

// newWHEPAPI builds the pion API for one session: the codecs above, NACK and RTCP
// reports, pion's logs routed to log. Loopback candidates are gathered only for an
// endpoint on loopback (a test, or a relay on the same host).
func newWHEPAPI(codecs []webrtc.RTPCodecParameters, loopback bool, log *slog.Logger) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("ingest: registering codec %s: %w", c.MimeType, err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, fmt.Errorf("ingest: NACK interceptor: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("ingest: RTCP reports interceptor: %w", err)
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLoggerFactory{log.With("component", "webrtc")}}
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

func (s *whepStream) open(ctx context.Context) error {
	u, _ := url.Parse(s.endpoint) // parsed before
	api, err := newWHEPAPI(whepCodecs(), isLoopbackHost(u.Hostname()), s.log)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("ingest: new peer connection: %w", err)
	}
	s.pc = pc
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		select {
		case s.tracks <- t:
		default: // a second video track: only the first is watched
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("webrtc connection", "url", s.redacted, "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			s.failOnce.Do(func() { close(s.failed) })
		}
	})
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fmt.Errorf("ingest: add transceiver: %w", err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("ingest: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("ingest: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("ingest: gathering ICE candidates: %w", ctx.Err())
	}

	answer, iceServers, err := s.post(ctx, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	if len(iceServers) > 0 {
		// Candidates were gathered before the endpoint named its servers; keep them in the
		// configuration for ICE restarts (no trickle here).
		cfg := pc.GetConfiguration()
		cfg.ICEServers = iceServers
		if err := pc.SetConfiguration(cfg); err != nil {
			s.log.Warn("ignoring ICE servers from the WHEP endpoint", "url", s.redacted, "err", err)
		} else {
			s.log.Debug("ICE servers from the WHEP endpoint", "url", s.redacted, "count", len(iceServers))
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("ingest: WHEP answer: %w", err)
	}
	for _, tr := range pc.GetTransceivers() {
		if cs := tr.Receiver().GetParameters().Codecs; len(cs) > 0 {
			s.info.Codec = codecName(cs[0].MimeType)
			break
		}
	}
	if s.info.Codec == "" {
		return fmt.Errorf("%w: no H.264 or VP8 video", ErrWHEPAnswer)
	}
	return nil
}

// codecName turns a MIME type into libav's codec name ("video/H264" → "h264").
func codecName(mime string) string {
	_, sub, _ := strings.Cut(mime, "/")
	return strings.ToLower(sub)
}

// post sends the offer and returns the answer and the ICE servers of the Link headers.
// The session URL (Location) is kept for Close.
func (s *whepStream) post(ctx context.Context, offer string) (string, []webrtc.ICEServer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(offer))
	if err != nil {
		return "", nil, fmt.Errorf("ingest: WHEP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("ingest: WHEP POST: %w", s.scrub(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, fmt.Errorf("ingest: reading WHEP answer: %w", s.scrub(err))
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", nil, &WHEPStatusError{Endpoint: Redact(s.endpoint), Status: resp.StatusCode, Message: printable(body, 200)}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		res, err := checkedResource(s.policy, resp.Request.URL, loc)
		if err != nil {
			s.log.Warn("WHEP session URL not used: the session cannot be ended", "url", s.redacted, "err", err)
		}
		s.resource = res
	} else {
		s.log.Warn("WHEP answer without a Location: the session cannot be ended", "url", s.redacted)
	}
	if resp.StatusCode != http.StatusCreated {
		s.log.Debug("WHEP endpoint answered 200 instead of 201", "url", s.redacted)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil, fmt.Errorf("%w: no SDP", ErrWHEPAnswer)
	}
	return string(body), parseICELinks(resp.Header.Values("Link")), nil
}

// scrub removes credentials from the URLs that net/http quotes in its errors.
func (s *whepStream) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, Redact(ue.URL), ue.Err)
	}
	return err
}

// printable returns up to n runes of b, with control characters and invalid UTF-8 dropped.
func printable(b []byte, n int) string {
	var sb strings.Builder
	for _, r := range strings.ToValidUTF8(string(b), "") {
		if n == 0 {
			sb.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		sb.WriteRune(r)
		n--
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}

// Info describes the session: the codec from the answer, the picture size from the
// last decoded frame (0 until the first).
func (s *whepStream) Info() Info {
	s.infoMu.Lock()
	defer s.infoMu.Unlock()
	return s.info
}

func (s *whepStream) setSize(w, h int) {
	s.infoMu.Lock()
	s.info.Width, s.info.Height = w, h
	s.infoMu.Unlock()
}

// Close ends the session: stops Run, closes the PeerConnection, DELETEs the session
// on the endpoint. Safe to call twice.
func (s *whepStream) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.done)
	var errs []error
	if s.pc != nil {
		if err := s.pc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ingest: closing peer connection: %w", err))
		}
	}
	s.runMu.Lock() // wait for Run, which frees the decoder
	defer s.runMu.Unlock()
	if s.resource != "" {
		if err := s.deleteSession(); err != nil {
			// The endpoint ends the session on its own when ICE times out.
			s.log.Warn("ending WHEP session", "url", s.redacted, "err", err)
		}
	}
	return errors.Join(errs...)
}

func (s *whepStream) deleteSession() error {
	timeout := min(s.opts.OpenTimeout, whepDeleteTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.resource, nil)
	if err != nil {
		return err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return s.scrub(err)
	}
	// Drained so that the connection is reused; what the body says does not
	// matter, and a failed read or close only costs the connection.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%w: DELETE %s answered %d", ErrWHEPSession, Redact(s.resource), resp.StatusCode)
	}
	return nil
}
