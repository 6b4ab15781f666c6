package console

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Access says who may use the console. Its zero value lets everyone in,
// which Serve allows only on a loopback listener.
type Access struct {
	// Token is a shared secret: sent as "Authorization: Bearer TOKEN", or
	// once as /?token=TOKEN, which sets a session cookie.
	Token string
	// Users are basic-auth users: name to bcrypt hash.
	Users map[string][]byte
}

// Open says whether a reaches everyone.
func (a Access) Open() bool { return a.Token == "" && len(a.Users) == 0 }

// Access errors; match them with errors.Is.
var (
	// ErrNeedAuth is returned for a listener that is not on loopback when
	// Access is open.
	ErrNeedAuth = errors.New("console: an address that is not loopback needs a token or users file")
	// ErrTokenFile is returned for a token file that holds no usable token.
	ErrTokenFile = errors.New("console: bad token file")
	// ErrUsersFile is returned for a users file with a malformed line.
	ErrUsersFile = errors.New("console: bad users file")
	// ErrCSRF is returned for a verdict POST that fails the CSRF checks.
	ErrCSRF = errors.New("console: refused")
)

// MinToken is the shortest token accepted, in bytes.
const MinToken = 16

// LoadToken reads a token file: the token on its first line, at least
// MinToken bytes, surrounding white space ignored.
func LoadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("console: token file: %w", err)
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < MinToken || strings.ContainsAny(tok, " \t") {
		return "", fmt.Errorf("%w %s: want one token of at least %d characters, no spaces", ErrTokenFile, path, MinToken)
	}
	return tok, nil
}

// LoadUsers reads a users file: one "name:bcrypt-hash" per line (as
// htpasswd -B writes it); blank lines and lines starting with # are skipped.
func LoadUsers(path string) (map[string][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console: users file: %w", err)
	}
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" || len(name) > MaxBy {
			return nil, fmt.Errorf("%w %s line %d: want name:bcrypt-hash", ErrUsersFile, path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%w %s line %d (%s): not a bcrypt hash (make one with htpasswd -nB %s)", ErrUsersFile, path, n, name, name)
		}
		users[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrUsersFile, path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%w %s: no user in it", ErrUsersFile, path)
	}
	return users, nil
}

// CheckListener returns ErrNeedAuth when addr is not a loopback address
// and a lets everyone in. The rule goes by the listener, not the client: a
// listener on 0.0.0.0 is reachable from the network even when this request
// came from 127.0.0.1.
func CheckListener(addr net.Addr, a Access) error {
	if a.Open() && !isLoopback(addr) {
		return fmt.Errorf("%w (listening on %s)", ErrNeedAuth, addr)
	}
	return nil
}

func isLoopback(addr net.Addr) bool {
	if t, ok := addr.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Cookie names.
const (
	sessionCookie = "streamwatch_session"
	csrfCookie    = "streamwatch_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// guard checks who a request comes from.
type guard struct {
	access  Access
	session string // the session cookie's value for Token

	mu     sync.Mutex
	passed map[[sha256.Size]byte]string // basic-auth credentials that passed bcrypt, to their user
}

func newGuard(a Access) *guard {
	g := &guard{access: a, passed: map[[sha256.Size]byte]string{}}
	if a.Token != "" {
		m := hmac.New(sha256.New, []byte(a.Token))
		m.Write([]byte("streamwatch console session"))
		g.session = hex.EncodeToString(m.Sum(nil))
	}
	return g
}

// user returns who r comes from ("" when the console is open or for the
// token) and whether r may go on.
func (g *guard) user(r *http.Request) (string, bool) {
	if g.access.Open() {
		return "", true
	}
	if g.access.Token != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(tok, g.access.Token) {
			return "", true
		}
		if c, err := r.Cookie(sessionCookie); err == nil && equal(c.Value, g.session) {
			return "", true
		}
	}
	if len(g.access.Users) > 0 {
		if name, pass, ok := r.BasicAuth(); ok && g.checkUser(name, pass) {
			return name, true
		}
	}
	return "", false
}

// checkUser compares a password with the user's hash; bcrypt is slow by
// design, so credentials that passed once are remembered (by their hash).
func (g *guard) checkUser(name, pass string) bool {
	sum := sha256.Sum256([]byte(name + "\x00" + pass))
	g.mu.Lock()
	who, ok := g.passed[sum]
	g.mu.Unlock()
	if ok {
		return who == name
	}
	hash, found := g.access.Users[name]
	if !found || bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return false
	}
	g.mu.Lock()
	g.passed[sum] = name
	g.mu.Unlock()
	return true
}

// deny answers 401 with the challenge the browser or client needs.
func (g *guard) deny(w http.ResponseWriter) {
	msg := "streamwatch console: authentication required"
	if len(g.access.Users) > 0 {
		w.Header().Set("WWW-Authenticate", `Basic realm="streamwatch console", charset="UTF-8"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="streamwatch console"`)
		msg += ": open /?token=TOKEN once, or send Authorization: Bearer TOKEN"
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

// login turns /?token=TOKEN into the session cookie and sends the browser on
// to the URL without the token; ok is false when there was no token.
func (g *guard) login(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("token")
	if tok == "" || g.access.Token == "" {
		return false
	}
	if !equal(tok, g.access.Token) {
		g.deny(w)
		return true
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: g.session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return true
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// ensureCSRF gives the browser its CSRF cookie if it has none. The page
// reads it and sends it back in X-CSRF-Token with each verdict: a page of
// another site can neither read the cookie nor set the header.
func ensureCSRF(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 64 {
		return nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("console: csrf token: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: hex.EncodeToString(b[:]), Path: "/",
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return nil
}

// checkCSRF refuses a state-changing request that does not carry the CSRF
// cookie's value in X-CSRF-Token, or that comes from another origin.
func checkCSRF(r *http.Request) error {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" || !equal(r.Header.Get(csrfHeader), c.Value) {
		return fmt.Errorf("%w: missing or wrong CSRF token: send the streamwatch_csrf cookie's value in X-CSRF-Token", ErrCSRF)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
		return fmt.Errorf("%w: request from another origin (%s)", ErrCSRF, o)
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return fmt.Errorf("%w: request from another site (Sec-Fetch-Site: %s)", ErrCSRF, s)
	}
	return nil
}

// loopbackHost says whether the Host a request names is a loopback one: an
// open console answers only those, so that a page of another site cannot
// reach it under a name of its own (DNS rebinding).
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
