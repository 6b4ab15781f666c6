package ingest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxWHEPRedirects bounds the redirects a WHEP request follows.
const maxWHEPRedirects = 5

// whepClient is the HTTP client of a WHEP session. Its requests — the offer,
// the redirects it follows, the session's DELETE — go only to the endpoint's
// own origin and the ones the operator allowed, as a libav source's fetches
// do (see guard): each redirect is checked with checkOrigin, and the dialer
// connects only to the addresses it checked, public ones for a host allowed
// by a pattern alone.
func whepClient(p originPolicy) *http.Client {
	tr := &http.Transport{
		Proxy: nil, // the environment's proxy would dial what we did not check
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialOrigin(ctx, p, addr)
		},
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxWHEPRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrWHEPAnswer, maxWHEPRedirects)
		}
		_, _, err := checkOrigin(p, req.URL.String())
		return err
	}}
}

// dialOrigin dials addr (host:port) for a request of policy p: every address
// of a host the operator named (the source's own origin, an exact allowed
// one), only public addresses of a host allowed by a pattern, nothing else.
func dialOrigin(ctx context.Context, p originPolicy, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOriginRefused, addr, err)
	}
	dp := dialPolicy{}
	for _, scheme := range []string{"https", "http"} {
		o, named, err := checkOrigin(p, (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}).String())
		if err == nil && (dp.origin == "" || named) {
			dp = dialPolicy{origin: o, named: named}
		}
	}
	if dp.origin == "" {
		return nil, fmt.Errorf("%w: %s is not the source's origin%s", ErrOriginRefused,
			addr, p.allowedText())
	}
	return dialChecked(ctx, addr, dp)
}

// checkedResource returns the WHEP session URL loc (a Location, resolved
// against the answer's URL base) if the session may DELETE it, else "" and
// why not.
func checkedResource(p originPolicy, base *url.URL, loc string) (string, error) {
	ref, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("%w: Location %q: %w", ErrWHEPAnswer, printable([]byte(loc), 200), err)
	}
	res := base.ResolveReference(ref).String()
	if _, _, err := checkOrigin(p, res); err != nil {
		return "", err
	}
	return res, nil
}

// whepPolicy is the origin policy of a WHEP session with endpoint (an http or
// https URL parseWHEP checked).
func whepPolicy(endpoint string, allowed []Origin) originPolicy {
	p := originPolicy{allowed: allowed}
	if u, err := url.Parse(endpoint); err == nil {
		p.source, _ = canonicalOrigin(u.Scheme, u.Hostname(), u.Port())
	}
	return p
}
