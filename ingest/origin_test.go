package ingest

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://cdn.example.com", "https://cdn.example.com:443"},
		{"HTTP://CDN.Example.com:8080/", "http://cdn.example.com:8080"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://[::1]:80", "http://[::1]:80"},
		{"http://[0:0::1]", "http://[::1]:80"},
		{"https://*.cdn.example.com", "https://*.cdn.example.com:443"},
		{"ftp://cdn.example.com", ""},
		{"https://cdn.example.com/path", ""},
		{"https://user@cdn.example.com", ""},
		{"https://cdn.example.com?x=1", ""},
		{"https://cdn.example.com:0", ""},
		{"https://cdn.example.com:65536", ""},
		{"https://", ""},
		{"cdn.example.com", ""},
		{"https://*.", ""},
		{"https://*.*.example.com", ""},
		{"https://a.*.example.com", ""},
		{"https://*.127.0.0.1", ""},
		{"http://[fe80::1%25eth0]", ""},
	} {
		got, err := ParseOrigin(tc.in)
		if tc.want == "" {
			require.ErrorIs(t, err, ErrBadOrigin, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, Origin(tc.want), got, tc.in)
	}
}

func mustOrigins(t testing.TB, ss ...string) []Origin {
	var out []Origin
	for _, s := range ss {
		o, err := ParseOrigin(s)
		require.NoError(t, err)
		out = append(out, o)
	}
	return out
}

func TestCheckOrigin(t *testing.T) {
	p := originPolicy{source: "http://127.0.0.1:8000",
		allowed: mustOrigins(t, "https://cdn.example.com", "https://*.edge.example.net")}
	for _, tc := range []struct {
		name, url string
		named, ok bool
	}{
		{"same origin", "http://127.0.0.1:8000/seg.ts", true, true},
		{"default port spelt out", "http://127.0.0.1:8000/a/../seg.ts?x=1#f", true, true},
		{"user info is no origin", "http://u:p@127.0.0.1:8000/seg.ts", true, true},
		{"another port", "http://127.0.0.1:8001/seg.ts", false, false},
		{"another scheme", "https://127.0.0.1:8000/seg.ts", false, false},
		{"the same address spelt otherwise", "http://[::ffff:127.0.0.1]:8000/seg.ts", false, false},
		{"allowed exactly", "https://CDN.example.com/seg.ts", true, true},
		{"allowed exactly, port spelt out", "https://cdn.example.com:443/seg.ts", true, true},
		{"allowed, but not over http", "http://cdn.example.com/seg.ts", false, false},
		{"below an exact origin", "https://x.cdn.example.com/seg.ts", false, false},
		{"by pattern", "https://a.b.edge.example.net/seg.ts", false, true},
		{"not the pattern's domain itself", "https://edge.example.net/seg.ts", false, false},
		{"a look-alike domain", "https://evil-edge.example.net/seg.ts", false, false},
		{"pattern on another port", "https://a.edge.example.net:8443/seg.ts", false, false},
		{"user info naming an allowed host", "http://cdn.example.com@127.0.0.2:8000/", false, false},
		{"no host", "http:///seg.ts", false, false},
		{"opaque", "http:127.0.0.1:8000", false, false},
		{"file", "file:///etc/passwd", false, false},
		{"backslash", "http://127.0.0.1:8000\\@evil/", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, named, err := checkOrigin(p, tc.url)
			if !tc.ok {
				require.ErrorIs(t, err, ErrOriginRefused)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.named, named)
		})
	}
}

func TestCheckOpen(t *testing.T) {
	top := "http://127.0.0.1:8000/live.m3u8"
	p := originPolicy{source: "http://127.0.0.1:8000"}
	for _, tc := range []struct {
		url      string
		viaProxy bool
		refused  error
	}{
		{top, true, nil},
		{"http://127.0.0.1:8000/seg.ts", true, nil},
		{"crypto+http://127.0.0.1:8000/seg.ts", true, nil},
		{"crypto:http://127.0.0.1:8000/seg.ts", true, nil},
		{"crypto+http://127.0.0.1:9/seg.ts", false, ErrOriginRefused},
		{"http://127.0.0.1:9/seg.ts", false, ErrOriginRefused},
		{"file:///etc/passwd", false, ErrProtocolRefused},
		{"/etc/passwd", false, ErrProtocolRefused},
		{"httpproxy://127.0.0.1:6379/x", false, ErrProtocolRefused},
		{"tcp://127.0.0.1:6379", false, ErrProtocolRefused},
		{"data:text/plain,x", false, ErrProtocolRefused},
	} {
		viaProxy, err := checkOpen(p, top, tc.url)
		if tc.refused != nil {
			require.ErrorIs(t, err, tc.refused, tc.url)
			continue
		}
		require.NoError(t, err, tc.url)
		require.Equal(t, tc.viaProxy, viaProxy, tc.url)
	}
	// The input itself, whatever its protocol, opens as is and not through the proxy.
	ok, err := checkOpen(originPolicy{}, "rtmp://h/app/x", "rtmp://h/app/x")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"10.1.2.3", false}, {"172.16.0.1", false},
		{"192.168.1.1", false}, {"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false},
		{"224.0.0.1", false}, {"255.255.255.255", false},
		{"::1", false}, {"::", false}, {"fe80::1", false}, {"fd00::1", false}, {"ff02::1", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:93.184.216.34", true}, {"::127.0.0.1", false},
		{"64:ff9b::10.0.0.1", false}, {"64:ff9b::93.184.216.34", true},
		{"2002:7f00:1::", false}, {"2002:5db8:d822::", true},
	} {
		require.Equal(t, tc.public, publicAddr(netip.MustParseAddr(tc.addr)), tc.addr)
	}
}

// FuzzOriginCheck checks checkOrigin and checkOpen against what they promise:
// a URL passes only when its origin, as net/url reads it independently, is
// the source's own or an allowed one (then named), or falls under an allowed
// pattern (then not named); what passes checkOpen and is not the input itself
// is http or https from such an origin; nothing panics.
func FuzzOriginCheck(f *testing.F) {
	for _, s := range [][3]string{
		{"http://127.0.0.1:8000", "https://cdn.example.com", "http://127.0.0.1:8000/seg.ts"},
		{"http://127.0.0.1:8000", "https://*.example.com", "https://a.example.com/seg.ts"},
		{"http://127.0.0.1:8000", "", "http://127.0.0.1:8001/seg.ts"},
		{"https://live.example", "http://[::1]:80", "http://[0::1]/x"},
		{"http://h", "", "http://h@evil/x"},
		{"http://h", "", "crypto+http://h/x"},
		{"http://h", "", "file:///etc/passwd"},
		{"http://h", "https://*.h", "https://evil-h/x"},
		{"http://h:80", "", "HTTP://H:80/%2e%2e"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, source, allowed, target string) {
		src, err := ParseOrigin(source)
		if err != nil {
			src = ""
		}
		var list []Origin
		for _, a := range strings.Split(allowed, " ") {
			if o, err := ParseOrigin(a); err == nil {
				if again, err := ParseOrigin(o.String()); err != nil || again != o {
					t.Fatalf("ParseOrigin(%q) = %q, which parses to %q, %v", a, o, again, err)
				}
				list = append(list, o)
			}
		}
		p := originPolicy{source: src, allowed: list}
		o, named, err := checkOrigin(p, target)
		if err == nil {
			want := independentOrigin(t, target)
			if o != want {
				t.Fatalf("checkOrigin(%q) = %q, net/url says %q", target, o, want)
			}
			exact := o == src || slices.Contains(list, o)
			if named != exact {
				t.Fatalf("checkOrigin(%q): named %v, but exact match %v (source %q, allowed %q)", target, named, exact, src, list)
			}
			if !exact && !slices.ContainsFunc(list, func(a Origin) bool { return coveredBy(a, o) }) {
				t.Fatalf("checkOrigin(%q) passed %q, which no origin or pattern of %q (source %q) covers", target, o, list, src)
			}
		}
		top := "http://top.invalid/live.m3u8"
		viaProxy, err := checkOpen(p, top, target)
		if err == nil && target != top {
			inner := strings.TrimPrefix(strings.TrimPrefix(target, "crypto+"), "crypto:")
			if !viaProxy {
				t.Fatalf("checkOpen(%q) opens without the proxy", target)
			}
			if _, _, err := checkOrigin(p, inner); err != nil {
				t.Fatalf("checkOpen(%q) passed what checkOrigin refuses: %v", target, err)
			}
		}
	})
}

// independentOrigin is the origin of raw read without canonicalOrigin.
func independentOrigin(t *testing.T, raw string) Origin {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("checkOrigin passed %q, which net/url refuses: %v", raw, err)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	port = strings.TrimLeft(port, "0")
	host := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
		if a.Is6() {
			host = "[" + host + "]"
		}
	}
	return Origin(strings.ToLower(u.Scheme) + "://" + host + ":" + port)
}

// coveredBy reports whether pattern ("https://*.d:443") covers o, read afresh.
func coveredBy(pattern, o Origin) bool {
	ps, prest, ok := strings.Cut(string(pattern), "://*.")
	if !ok {
		return false
	}
	u, err := url.Parse(string(o))
	if err != nil {
		return false
	}
	domain := prest[:strings.LastIndex(prest, ":")]
	port := prest[strings.LastIndex(prest, ":")+1:]
	return u.Scheme == ps && u.Port() == port && strings.HasSuffix(u.Hostname(), "."+domain)
}
