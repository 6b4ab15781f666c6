package ingest

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procProxy is the process's one forward proxy. It exists because libav's
// http and tls protocols dial whatever a playlist or a redirect names and
// offer no hook but http_proxy; it runs only while guarded inputs are open.
var procProxy proxyHolder

// proxyHolder starts the proxy for the first guard registered and stops it
// when the last one is released.
type proxyHolder struct {
	mu  sync.Mutex
	cur *proxyServer
	n   int
}

// register adds g to the running proxy (starting it) and returns the
// http_proxy URL that names g, and the function that ends the registration.
func (h *proxyHolder) register(g *guard) (proxyURL string, release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		if h.cur, err = startProxy(g.log); err != nil {
			return "", nil, err
		}
	}
	ps := h.cur
	ps.add(g)
	h.n++
	var once sync.Once
	// libav sends proxy credentials only as user:password.
	return "http://sw:" + g.token + "@" + ps.addr, func() { once.Do(func() { h.release(ps, g) }) }, nil
}

func (h *proxyHolder) release(ps *proxyServer, g *guard) {
	ps.remove(g)
	h.mu.Lock()
	h.n--
	last := h.n == 0
	if last {
		h.cur = nil
	}
	h.mu.Unlock()
	if last {
		ps.stop()
	}
}

// proxyServer is one run of the proxy: a loopback listener that takes plain
// HTTP requests in absolute form (libav's http through a proxy) and CONNECT
// (its tls, for https), each from a registered guard (Proxy-Authorization
// Basic, the guard's token as password), and lets through only what the
// guard's policy allows.
type proxyServer struct {
	addr   string
	srv    *http.Server
	served chan struct{} // closed when Serve returns

	mu      sync.Mutex
	guards  map[string]*guard
	closing bool
	conns   map[net.Conn]struct{} // hijacked, for stop
	active  sync.WaitGroup        // handlers running
}

func startProxy(log *slog.Logger) (*proxyServer, error) {
	// libav skips http_proxy for hosts in $no_proxy: nothing may bypass the checks.
	if v, ok := os.LookupEnv("no_proxy"); ok {
		if err := os.Unsetenv("no_proxy"); err != nil {
			return nil, fmt.Errorf("ingest: unset no_proxy: %w", err)
		}
		log.Warn("no_proxy unset: every fetch of a network source goes through the origin checks", "no_proxy", v)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ingest: origin proxy: %w", err)
	}
	ps := &proxyServer{addr: ln.Addr().String(), served: make(chan struct{}),
		guards: map[string]*guard{}, conns: map[net.Conn]struct{}{}}
	ps.srv = &http.Server{Handler: ps, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug)}
	go func() {
		defer close(ps.served)
		if err := ps.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("origin proxy stopped", "err", err)
		}
	}()
	return ps, nil
}

func (ps *proxyServer) add(g *guard) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.guards[g.token] = g
}

func (ps *proxyServer) remove(g *guard) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	delete(ps.guards, g.token)
}

// stop closes the listener, every connection and tunnel, and waits for the
// handlers and Serve to return.
func (ps *proxyServer) stop() {
	ps.mu.Lock()
	ps.closing = true
	for c := range ps.conns {
		_ = c.Close() // a tunnel being torn down; its copy returns on the error
	}
	ps.mu.Unlock()
	_ = ps.srv.Close() // closes the listener and idle and active connections; Serve returns
	<-ps.served
	ps.active.Wait()
}

// enter counts a handler in, unless the proxy is stopping.
func (ps *proxyServer) enter() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closing {
		return false
	}
	ps.active.Add(1)
	return true
}

// guardOf is the guard a request names in its Proxy-Authorization, or nil.
func (ps *proxyServer) guardOf(r *http.Request) *guard {
	scheme, cred, ok := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return nil
	}
	_, token, _ := strings.Cut(string(raw), ":")
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.guards[token]
}

// ServeHTTP lets a request or a CONNECT through to the origin it names,
// when the guard it comes from allows that origin.
func (ps *proxyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !ps.enter() {
		http.Error(w, "proxy stopping", http.StatusServiceUnavailable)
		return
	}
	defer ps.active.Done()
	g := ps.guardOf(r)
	if g == nil {
		// libav sends its credentials only when challenged.
		w.Header().Set("Proxy-Authenticate", `Basic realm="streamwatch"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	target := r.URL.String()
	if r.Method == http.MethodConnect {
		target = "https://" + r.Host // libav's tls tunnels only https through a proxy
	} else if !r.URL.IsAbs() {
		http.Error(w, "a proxy request names an absolute URL", http.StatusBadRequest)
		return
	}
	o, named, err := checkOrigin(g.policy, target)
	if err != nil {
		g.deny(err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		ps.tunnel(w, r, g, o, named)
		return
	}
	ctx := context.WithValue(r.Context(), dialKey{}, dialPolicy{origin: o, named: named})
	g.forward.ServeHTTP(w, r.WithContext(ctx))
}

// dialKey carries a request's dialPolicy to the forwarder's dialer.
type dialKey struct{}

// dialPolicy is what the dialer needs to know of a checked request.
type dialPolicy struct {
	origin Origin
	named  bool
}

// forwarder passes a checked plain HTTP request on, and its answer back as
// it is: a redirect goes back to libav, which asks the proxy again for the
// new URL. It keeps no connection open (the dialer checks each one), and
// adds no X-Forwarded headers; ReverseProxy drops the hop-by-hop ones,
// Proxy-Authorization among them.
func forwarder(g *guard) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.Out.URL.Host },
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				dp, _ := ctx.Value(dialKey{}).(dialPolicy)
				return g.dial(ctx, addr, dp)
			},
			DisableKeepAlives:  true,
			DisableCompression: true, // libav asks for what it decodes
			Proxy:              nil,
		},
		FlushInterval: -1, // live media: no buffering
		ErrorLog:      slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			if isRefusal(err) {
				status = http.StatusForbidden
			}
			g.log.Debug("proxy: fetch failed", "url", Redact(r.URL.String()), "err", err)
			g.failed(err)
			http.Error(w, err.Error(), status)
		},
	}
}

// tunnel answers a CONNECT for the checked origin o: it dials the origin's
// vetted address and copies bytes both ways until either side closes.
func (ps *proxyServer) tunnel(w http.ResponseWriter, r *http.Request, g *guard, o Origin, named bool) {
	up, err := g.dial(r.Context(), r.Host, dialPolicy{origin: o, named: named})
	if err != nil {
		status := http.StatusBadGateway
		if isRefusal(err) {
			status = http.StatusForbidden
		} else {
			g.failed(err)
		}
		http.Error(w, err.Error(), status)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close() // never used
		http.Error(w, "no tunnel on this connection", http.StatusInternalServerError)
		return
	}
	down, brw, err := hj.Hijack()
	if err != nil {
		_ = up.Close() // never used
		return
	}
	if !ps.track(down, up) {
		return
	}
	defer ps.untrack(down, up)
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	splice(down, brw.Reader, up)
}

// track registers a tunnel's connections for stop, or closes them when the
// proxy is stopping.
func (ps *proxyServer) track(conns ...net.Conn) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closing {
		for _, c := range conns {
			_ = c.Close() // the proxy is going away
		}
		return false
	}
	for _, c := range conns {
		ps.conns[c] = struct{}{}
	}
	return true
}

func (ps *proxyServer) untrack(conns ...net.Conn) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, c := range conns {
		_ = c.Close() // the tunnel is over; nothing more goes through it
		delete(ps.conns, c)
	}
}

// splice copies down (read through its buffered reader) to up and back,
// until one direction ends; then both connections are closed by the caller.
func splice(down net.Conn, downR *bufio.Reader, up net.Conn) {
	done := make(chan struct{}, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(up, downR) // ends on EOF or a closed connection either way
		done <- struct{}{}
	})
	wg.Go(func() {
		_, _ = io.Copy(down, up) // as above
		done <- struct{}{}
	})
	<-done
	_ = down.Close() // unblocks the other copy
	_ = up.Close()
	wg.Wait()
}

// dial connects to addr (host:port of the checked origin): every address of a
// named origin may be dialed, only public ones of an origin allowed by a
// pattern. It dials the address it checked, so that a second DNS answer
// (rebinding) cannot redirect the connection.
func (g *guard) dial(ctx context.Context, addr string, dp dialPolicy) (net.Conn, error) {
	c, err := dialChecked(ctx, addr, dp)
	if errors.Is(err, ErrAddressRefused) {
		g.deny(err)
	}
	return c, err
}

// dialChecked connects to addr (host:port) of the checked origin dp.origin:
// to any of its addresses when the operator named it, to public ones only
// when a pattern allowed it. It dials the address it checked.
func dialChecked(ctx context.Context, addr string, dp dialPolicy) (net.Conn, error) {
	if dp.origin == "" {
		return nil, fmt.Errorf("%w: %s: not checked", ErrOriginRefused, addr)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOriginRefused, addr, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad port", ErrOriginRefused, addr)
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var refused []string
	var lastErr error
	for _, a := range addrs {
		if !dp.named && !publicAddr(a) {
			refused = append(refused, a.String())
			continue
		}
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	if lastErr != nil {
		return nil, fmt.Errorf("ingest: %s: %w", dp.origin, lastErr)
	}
	return nil, fmt.Errorf("%w: %s is at a private or local address (%s), which an origin allowed by a pattern may not be; allow the origin itself",
		ErrAddressRefused, dp.origin, strings.Join(refused, ", "))
}

// lookupNetIP resolves host names for the proxy's dialer; tests stand in
// a resolver of their own (no DNS server answers here).
var lookupNetIP = net.DefaultResolver.LookupNetIP

// resolve returns the addresses of host: itself when it is an address.
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := lookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("ingest: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("ingest: resolve %s: %w", host, errNoHost)
	}
	return addrs, nil
}
