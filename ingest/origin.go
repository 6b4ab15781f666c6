package ingest

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/streamwatch/streamwatch/internal/echo"
)

// Origin is a scheme, host and port in canonical form: the scheme and host in
// lower case, an IPv6 address in brackets, the port always written out
// ("https://cdn.example.com:443"). A pattern origin has "*." in front of its
// host: "https://*.cdn.example.com:443" stands for every host below
// cdn.example.com (not cdn.example.com itself).
type Origin string

// String is the origin as written in errors and logs.
func (o Origin) String() string { return string(o) }

// defaultPorts are the ports of the schemes an origin may have.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// ParseOrigin parses an origin as an operator gives it: http or https, a host
// (or "*." and a domain, for every host below it), an optional port, and
// nothing else (no path but "/", no user, query or fragment).
func ParseOrigin(s string) (Origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrBadOrigin, echo.Quote(s), err)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return "", fmt.Errorf("%w %s: want scheme://host[:port] and nothing else", ErrBadOrigin, echo.Quote(s))
	}
	host, wildcard := strings.CutPrefix(u.Hostname(), "*.")
	if wildcard && (host == "" || strings.Contains(host, "*")) {
		return "", fmt.Errorf("%w %s: a pattern is *. followed by a domain", ErrBadOrigin, echo.Quote(s))
	}
	if _, err := netip.ParseAddr(host); wildcard && err == nil {
		return "", fmt.Errorf("%w %s: a pattern names a domain, not an address", ErrBadOrigin, echo.Quote(s))
	}
	o, err := canonicalOrigin(u.Scheme, host, u.Port())
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrBadOrigin, echo.Quote(s), err)
	}
	if wildcard {
		scheme, rest, _ := strings.Cut(string(o), "://")
		o = Origin(scheme + "://*." + rest)
	}
	return o, nil
}

// canonicalOrigin builds the Origin of scheme, host and port (empty: the
// scheme's default). Only http and https have origins.
func canonicalOrigin(scheme, host, port string) (Origin, error) {
	scheme = strings.ToLower(scheme)
	def, ok := defaultPorts[scheme]
	if !ok {
		return "", fmt.Errorf("scheme %s: %w", echo.Quote(scheme), errOriginScheme)
	}
	if host == "" {
		return "", errNoHost
	}
	if strings.ContainsAny(host, "*@/\\?#%[] \t\r\n") {
		return "", fmt.Errorf("host %s: %w", echo.Quote(host), errHostName)
	}
	if port == "" {
		port = def
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("port %s: %w", echo.Quote(port), errPort)
	}
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("host %s: %w", echo.Quote(host), errHostName)
		}
		host = a.String()
		if a.Is6() {
			host = "[" + host + "]"
		}
	} else if strings.Contains(host, ":") {
		return "", fmt.Errorf("host %s: %w", echo.Quote(host), errHostName)
	}
	return Origin(scheme + "://" + host + ":" + strconv.FormatUint(n, 10)), nil
}

// originPolicy is what one source may fetch from: its own origin and those
// the operator allowed, exactly or by pattern.
type originPolicy struct {
	source  Origin   // the source URL's own origin; empty for a non-HTTP source
	allowed []Origin // exact origins and patterns from Options.AllowedOrigins
}

// checkOrigin decides whether the source of policy p may fetch raw (an http
// or https URL, as libav asks for it). It returns the URL's origin, and
// whether the operator named it (the source's own origin or an exact allowed
// one): a named origin may be at any address, one allowed only by a pattern
// must resolve to public addresses. Any other origin is refused with
// ErrOriginRefused. checkOrigin does no I/O.
func checkOrigin(p originPolicy, raw string) (o Origin, named bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("%w: %s: %w", ErrOriginRefused, echo.Quote(Redact(raw)), err)
	}
	if u.Opaque != "" {
		return "", false, fmt.Errorf("%w: %s: no host", ErrOriginRefused, echo.Quote(Redact(raw)))
	}
	o, err = canonicalOrigin(u.Scheme, u.Hostname(), u.Port())
	if err != nil {
		return "", false, fmt.Errorf("%w: %s: %w", ErrOriginRefused, echo.Quote(Redact(raw)), err)
	}
	if o == p.source {
		return o, true, nil
	}
	for _, a := range p.allowed {
		if o == a {
			return o, true, nil
		}
	}
	for _, a := range p.allowed {
		if matchesPattern(a, o) {
			return o, false, nil
		}
	}
	return o, false, fmt.Errorf("%w: %s is not the source's origin%s", ErrOriginRefused, o, p.allowedText())
}

// matchesPattern reports whether pattern ("https://*.example.com:443") covers o.
func matchesPattern(pattern, o Origin) bool {
	scheme, rest, ok := strings.Cut(string(pattern), "://*.")
	if !ok {
		return false
	}
	domain, port, _ := strings.Cut(rest, ":")
	oScheme, oRest, _ := strings.Cut(string(o), "://")
	oHost, oPort, _ := strings.Cut(oRest, ":")
	if oScheme != scheme || oPort != port || strings.HasPrefix(oHost, "[") {
		return false
	}
	return strings.HasSuffix(oHost, "."+domain)
}

// allowedText names the origins of the policy, for the refusal message.
func (p originPolicy) allowedText() string {
	s := ""
	if p.source != "" {
		s = " " + p.source.String()
	}
	if len(p.allowed) == 0 {
		return s + ", and no other origin is allowed"
	}
	names := make([]string, len(p.allowed))
	for i, a := range p.allowed {
		names[i] = a.String()
	}
	return s + " nor an allowed one (" + strings.Join(names, ", ") + ")"
}

// sourceOrigin is the origin of a source URL, or "" when it has none (not
// http or https).
func sourceOrigin(in input) Origin {
	if in.scheme != "http" && in.scheme != "https" {
		return ""
	}
	u, err := url.Parse(in.ffURL)
	if err != nil {
		return ""
	}
	o, err := canonicalOrigin(u.Scheme, u.Hostname(), u.Port())
	if err != nil {
		return ""
	}
	return o
}

// nonPublic are the address ranges a fetch allowed only by a pattern may not
// reach: private, loopback, link-local, shared (CGNAT), benchmarking,
// documentation, reserved, multicast and unspecified ranges.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/3",
		"::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 (RFC 6052) and sixToFour (RFC 3056) embed the IPv4 address they reach:
// in the last 32 bits, and in the 32 bits after the first 16.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// publicAddr reports whether a is a public unicast address.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return publicAddr(netip.AddrFrom4([4]byte(b[12:])))
	case sixToFour.Contains(a):
		return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
