// Package rtsptest runs an RTSP server for tests on loopback, built on gortsplib:
// one publisher ANNOUNCEs and RECORDs a stream (ffmpeg -f rtsp), readers DESCRIBE,
// SETUP and PLAY it over interleaved TCP, and every RTP packet the publisher sends
// is forwarded to every reader through a gortsplib.ServerStream.
package rtsptest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// Options configure a Server. Zero values answer at once, as a plain server does.
type Options struct {
	// HoldDescribe keeps a reader's DESCRIBE waiting for a publisher for up to this
	// long before answering 404, as nginx-rtmp keeps a player waiting, so a test can
	// attach its reader before the publisher starts. Default 0: 404 at once.
	HoldDescribe time.Duration
	// HoldRecord keeps the publisher's RECORD unanswered until a reader plays, for up
	// to this long, so the reader gets the stream from its first packet (the
	// publisher sends nothing before RECORD is answered). Default 0: answer at once.
	HoldRecord time.Duration
}

// Server is an RTSP server on 127.0.0.1 that serves one stream, under any path.
type Server struct {
	// Addr is the server's host:port.
	Addr string

	opts Options
	srv  *gortsplib.Server
	done chan struct{} // closed by Close: ends the holds

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change below
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
	readers   map[*gortsplib.ServerSession]bool // playing
	waiting   int                               // DESCRIBEs held
}

// Start starts a Server on a free loopback port; Close stops it.
func Start(opts Options) (*Server, error) {
	// gortsplib wants an address, not a listener: take a free port and hand it over.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, opts: opts, done: make(chan struct{}), changed: make(chan struct{}),
		readers: map[*gortsplib.ServerSession]bool{}}
	// No UDP addresses: TCP transport only, which is what both ffmpeg
	// (-rtsp_transport tcp) and the worker (prefer_tcp) ask for.
	s.srv = &gortsplib.Server{Handler: s, RTSPAddress: addr}
	if err := s.srv.Start(); err != nil {
		return nil, fmt.Errorf("rtsptest: start: %w", err)
	}
	return s, nil
}

// URL is the rtsp:// URL of path on the server.
func (s *Server) URL(path string) string { return "rtsp://" + s.Addr + "/" + path }

// Close stops the server, disconnects every client and waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
	s.mu.Lock()
	if s.stream != nil {
		s.stream.Close()
		s.stream = nil
	}
	s.mu.Unlock()
}

// Clients is a snapshot of a Server's clients.
type Clients struct {
	// Waiting is the number of DESCRIBEs held for a publisher.
	Waiting int
	// Readers is the number of readers playing.
	Readers int
}

// Clients returns the server's clients as they are now.
func (s *Server) Clients() Clients {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Clients{Waiting: s.waiting, Readers: len(s.readers)}
}

// notify wakes the holds; s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// hold waits, for up to d, until ok holds (called with s.mu held); it returns with
// s.mu held and reports whether ok held.
func (s *Server) hold(d time.Duration, ok func() bool) bool {
	if ok() || d <= 0 {
		return ok()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for !ok() {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			s.mu.Lock()
			return ok()
		case <-s.done:
			s.mu.Lock()
			return false
		}
		s.mu.Lock()
	}
	return true
}

// OnSessionClose ends the stream when its publisher goes, which disconnects the
// readers, as a media server does.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.readers, ctx.Session)
	if s.stream != nil && ctx.Session == s.publisher {
		s.stream.Close()
		s.stream, s.publisher = nil, nil
	}
	s.notify()
}

// OnDescribe answers with the published stream, holding the request for a
// publisher if Options.HoldDescribe says so.
func (s *Server) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting++
	s.notify()
	published := s.hold(s.opts.HoldDescribe, func() bool { return s.stream != nil })
	s.waiting--
	if !published {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnAnnounce takes the publisher's stream, replacing an earlier publisher.
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream != nil {
		s.stream.Close()
		s.publisher.Close()
	}
	s.stream = gortsplib.NewServerStream(s.srv, ctx.Description)
	s.publisher = ctx.Session
	s.notify()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup sets up a publisher's media, or a reader's of the published stream.
func (s *Server) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnPlay counts the reader. gortsplib makes the reader active right after this
// returns, before it handles another request of the session; the publisher's
// first packet comes a network round trip after its RECORD is answered.
func (s *Server) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers[ctx.Session] = true
	s.notify()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord forwards the publisher's packets to the readers, once a reader plays
// if Options.HoldRecord says so.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold(s.opts.HoldRecord, func() bool { return len(s.readers) > 0 })
	stream := s.stream
	if stream == nil || s.publisher != ctx.Session {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("rtsptest: publisher replaced")
	}
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = stream.WritePacketRTP(medi, pkt) // fails only once the stream is closed
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}
