// Package wheptest runs WebRTC peers for tests on loopback: a WHEP endpoint that
// serves one video track to every session, fed by the test or by a publisher that
// pushes its stream over WHIP (a browser), and headless Chromium as that publisher.
package wheptest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// H264 and VP8 are the codecs a Server can serve.
var (
	H264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"},
			{Type: "goog-remb"}, {Type: "transport-cc"}}}
	VP8 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"},
			{Type: "goog-remb"}, {Type: "transport-cc"}}}
)

// Options configure a Server.
type Options struct {
	// Codec of the served track; default H264.
	Codec webrtc.RTPCodecCapability
	// Status, if not 0, is the answer to every WHEP POST, with body "refused by test".
	Status int
	// Token, if not "", must come as "Authorization: Bearer TOKEN", else 401.
	Token string
	// Links are extra Link header values of the POST answer.
	Links []string
	// Page is served at "/" (HTML).
	Page string
	// Location, if not "", is the absolute URL the session URLs of the POST
	// answers start with (the session's number follows), instead of a
	// relative "whep/N".
	Location string
}

// Server is a WHEP endpoint at URL+"/whep" and a WHIP endpoint at URL+"/whip" on
// 127.0.0.1. WHIP publishers' video is forwarded, packet by packet, to Track, which
// every WHEP session receives; keyframe requests (PLI) of WHEP sessions are forwarded
// to the publishers. Reports POSTed to /report are kept (see Reports).
type Server struct {
	URL   string
	Track *webrtc.TrackLocalStaticRTP

	opts Options
	http *httptest.Server
	api  *webrtc.API // WHEP sessions
	pub  *webrtc.API // WHIP publishers

	mu         sync.Mutex
	sessions   map[string]*webrtc.PeerConnection
	publishers []*publisher
	deleted    []string
	reports    []string
	next       int
	closed     bool

	plis atomic.Int64
	wg   sync.WaitGroup
}

type publisher struct {
	pc   *webrtc.PeerConnection
	ssrc atomic.Uint32
}

func loopbackSettings() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return se
}

func newAPI(codec webrtc.RTPCodecCapability, defaults bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: codec, PayloadType: 102},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if defaults { // NACK, reports and TWCC, so a browser's bandwidth estimate ramps up
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return nil, err
		}
	} else if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(loopbackSettings())), nil
}

// Start starts a Server; Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.Codec.MimeType == "" {
		opts.Codec = H264
	}
	track, err := webrtc.NewTrackLocalStaticRTP(opts.Codec, "video", "wheptest")
	if err != nil {
		return nil, err
	}
	s := &Server{Track: track, opts: opts, sessions: map[string]*webrtc.PeerConnection{}}
	if s.api, err = newAPI(opts.Codec, false); err != nil {
		return nil, err
	}
	if s.pub, err = newAPI(opts.Codec, true); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep", s.postWHEP)
	mux.HandleFunc("DELETE /whep/{id}", s.deleteWHEP)
	mux.HandleFunc("POST /whip", s.postWHIP)
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		s.mu.Lock()
		s.reports = append(s.reports, string(b))
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, opts.Page)
	})
	s.http = httptest.NewServer(mux)
	s.URL = s.http.URL
	return s, nil
}

// PLIs counts the keyframe requests received from WHEP sessions.
func (s *Server) PLIs() int64 { return s.plis.Load() }

// Sessions is the number of WHEP sessions not DELETEd.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Deleted lists the paths of the WHEP sessions DELETEd so far.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// Reports returns the bodies POSTed to /report so far.
func (s *Server) Reports() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reports...)
}

// acceptOffer reads the SDP offer POSTed in r and opens a peer connection of
// api for it. When it returns false it has answered r with the error.
func acceptOffer(w http.ResponseWriter, r *http.Request, api *webrtc.API) (string, *webrtc.PeerConnection, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(w, "want application/sdp", http.StatusUnsupportedMediaType)
		return "", nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", nil, false
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return "", nil, false
	}
	return string(b), pc, true
}

// keep runs add under s.mu to keep pc, unless the server is closing: then it
// closes pc, answers 503 and returns false.
func (s *Server) keep(w http.ResponseWriter, pc *webrtc.PeerConnection, add func()) bool {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		add()
	}
	s.mu.Unlock()
	if closed {
		_ = pc.Close() // a connection never used; Close frees its ports
		http.Error(w, "closing", http.StatusServiceUnavailable)
	}
	return !closed
}

// writeAnswer answers offer on pc with 201 Created, the SDP answer, Location
// and Link headers.
func writeAnswer(w http.ResponseWriter, pc *webrtc.PeerConnection, offer, location string, links ...string) {
	sdp, err := answer(pc, offer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", location)
	for _, l := range links {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sdp) // the client is gone; nothing to do
}

// answer completes the negotiation of pc with offer, gathering all candidates.
func answer(pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("ICE gathering timed out")
	}
	return pc.LocalDescription().SDP, nil
}

func (s *Server) postWHEP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Status != 0 {
		http.Error(w, "refused by test", s.opts.Status)
		return
	}
	if s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	offer, pc, ok := acceptOffer(w, r, s.api)
	if !ok {
		return
	}
	sender, err := pc.AddTrack(s.Track)
	if err != nil {
		_ = pc.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var id string
	if !s.keep(w, pc, func() {
		s.next++
		id = strconv.Itoa(s.next)
		s.sessions[id] = pc
		s.wg.Add(1)
	}) {
		return
	}
	go func() { // ends when pc closes
		defer s.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					s.plis.Add(1)
					s.forwardPLI()
				}
			}
		}
	}()
	// A relative Location, as servers often answer, unless the test names one.
	location := "whep/" + id
	if s.opts.Location != "" {
		location = s.opts.Location + id
	}
	writeAnswer(w, pc, offer, location, append([]string{`<stun:127.0.0.1:9>; rel="ice-server"`}, s.opts.Links...)...)
}

func (s *Server) deleteWHEP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	pc, ok := s.sessions[r.PathValue("id")]
	delete(s.sessions, r.PathValue("id"))
	if ok {
		s.deleted = append(s.deleted, r.URL.Path)
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_ = pc.Close()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) forwardPLI() {
	s.mu.Lock()
	pubs := append([]*publisher(nil), s.publishers...)
	s.mu.Unlock()
	for _, p := range pubs {
		if ssrc := p.ssrc.Load(); ssrc != 0 {
			_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		}
	}
}

func (s *Server) postWHIP(w http.ResponseWriter, r *http.Request) {
	offer, pc, ok := acceptOffer(w, r, s.pub)
	if !ok {
		return
	}
	p := &publisher{pc: pc}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		p.ssrc.Store(uint32(t.SSRC()))
		for { // ends when pc closes
			pkt, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			pkt.Extension, pkt.Extensions = false, nil // the sessions negotiate their own
			_ = s.Track.WriteRTP(pkt)
		}
	})
	if !s.keep(w, pc, func() { s.publishers = append(s.publishers, p) }) {
		return
	}
	writeAnswer(w, pc, offer, "/whip/1")
}

// Close closes every session and publisher and the HTTP server, and waits for the
// goroutines the Server started.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	var pcs []*webrtc.PeerConnection
	for _, pc := range s.sessions {
		pcs = append(pcs, pc)
	}
	for _, p := range s.publishers {
		pcs = append(pcs, p.pc)
	}
	s.sessions = map[string]*webrtc.PeerConnection{}
	s.mu.Unlock()
	s.http.Close()
	for _, pc := range pcs {
		_ = pc.Close()
	}
	s.wg.Wait()
}
