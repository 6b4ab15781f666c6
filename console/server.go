package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// maxVerdictBody bounds the body of a verdict POST.
const maxVerdictBody = 16 << 10

// keepAlive is how often an idle event stream gets a comment, so that
// proxies do not close it.
const keepAlive = 15 * time.Second

// routes is the console's HTTP handler: the page, its assets and /api/.
func (c *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.page)
	mux.Handle("GET /assets/", http.FileServerFS(assets)) // the embedded tree is assets/…
	mux.HandleFunc("GET /api/session", c.session)
	mux.HandleFunc("GET /api/alerts", c.listAlerts)
	mux.HandleFunc("GET /api/alerts/{id}", c.oneAlert)
	mux.HandleFunc("GET /api/alerts/{id}/verdicts", c.verdicts)
	mux.HandleFunc("POST /api/alerts/{id}/verdicts", c.postVerdict)
	mux.HandleFunc("GET /api/evidence/{key...}", c.evidenceImage)
	mux.HandleFunc("GET /api/streams", c.streams)
	mux.HandleFunc("GET /api/events", c.events)
	return c.protect(mux)
}

// protect puts every request through the access rules and sets the headers
// that keep the page from loading or being framed by anything else.
func (c *server) protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if c.o.Access.Open() && !loopbackHost(r.Host) {
			http.Error(w, "streamwatch console: this console answers only loopback host names", http.StatusMisdirectedRequest)
			return
		}
		if r.URL.Path == "/" && c.guard.login(w, r) {
			return
		}
		if _, ok := c.guard.user(r); !ok {
			c.guard.deny(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// page serves index.html with the browser's CSRF cookie.
func (c *server) page(w http.ResponseWriter, r *http.Request) {
	if err := ensureCSRF(w, r); err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	data, err := assets.ReadFile("assets/index.html")
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(data) // the client is gone; nothing to do
}

// session tells the page who it is logged in as ("" for a shared token or
// an open console, where the page asks for a name).
func (c *server) session(w http.ResponseWriter, r *http.Request) {
	user, _ := c.guard.user(r)
	auth := "none"
	switch {
	case user != "":
		auth = "users"
	case c.o.Access.Token != "":
		auth = "token"
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": user, "auth": auth})
}

// alertList is the answer of GET /api/alerts.
type alertList struct {
	Alerts     []AlertView `json:"alerts"`
	Unreviewed int         `json:"unreviewed"`
}

func (c *server) listAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	list, unreviewed := c.hub.list(f)
	writeJSON(w, http.StatusOK, alertList{Alerts: list, Unreviewed: unreviewed})
}

// alertDetail is the answer of GET /api/alerts/{id}.
type alertDetail struct {
	Alert    AlertView `json:"alert"`
	Verdicts []Review  `json:"verdicts"` // oldest first
}

func (c *server) oneAlert(w http.ResponseWriter, r *http.Request) {
	v, rs, ok := c.hub.alert(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, fmt.Errorf("%w %s", ErrUnknownAlert, r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, alertDetail{Alert: v, Verdicts: nonNil(rs)})
}

func (c *server) verdicts(w http.ResponseWriter, r *http.Request) {
	_, rs, ok := c.hub.alert(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, fmt.Errorf("%w %s", ErrUnknownAlert, r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, nonNil(rs))
}

// postVerdict stores a verdict: {"verdict": …, "note": …, "by": …}. With
// basic-auth users, by is the user logged in.
func (c *server) postVerdict(w http.ResponseWriter, r *http.Request) {
	if err := checkCSRF(r); err != nil {
		apiError(w, http.StatusForbidden, err)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, fmt.Errorf("%w: want Content-Type application/json", ErrReview))
		return
	}
	id := r.PathValue("id")
	if !c.hub.known(id) {
		apiError(w, http.StatusNotFound, fmt.Errorf("%w %s", ErrUnknownAlert, id))
		return
	}
	var in Review
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxVerdictBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrReview, err))
		return
	}
	in.AlertID = id
	if user, _ := c.guard.user(r); user != "" {
		in.By = user
	}
	if err := in.check(); err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	out, err := c.reviews.put(r.Context(), in, c.o.Now())
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, err)
		return
	}
	c.hub.addReview(out)
	c.log.Info("verdict", "alert", id, "verdict", out.Verdict, "by", out.By, "revision", out.Revision)
	writeJSON(w, http.StatusCreated, out)
}

// evidenceImage streams one evidence image named by a record the console read.
func (c *server) evidenceImage(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !c.hub.hasKey(key) {
		apiError(w, http.StatusNotFound, fmt.Errorf("%w: %s is not the key of a record's evidence", ErrNoEvidence, key))
		return
	}
	rc, err := c.evidence.open(r.Context(), key)
	if errors.Is(err, ErrNoEvidence) {
		apiError(w, http.StatusNotFound, err)
		return
	}
	if err != nil {
		apiError(w, http.StatusBadGateway, err)
		return
	}
	defer func() {
		if err := rc.Close(); err != nil {
			c.log.Debug("evidence not closed cleanly", "key", key, "err", err)
		}
	}()
	ct := mime.TypeByExtension(path.Ext(key))
	if !strings.HasPrefix(ct, "image/") {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable") // a key is written once
	if _, err := io.Copy(w, rc); err != nil {
		c.log.Debug("evidence not sent", "key", key, "err", err)
	}
}

func (c *server) streams(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, c.hub.streamList())
}

// events streams server-sent events: everything known first, then each
// change. A page cut off for falling behind reconnects and gets it all again.
func (c *server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	snapshot, sub := c.hub.subscribe()
	defer c.hub.unsubscribe(sub)
	if _, err := io.WriteString(w, "retry: 1000\n\n"); err != nil {
		return
	}
	for _, ev := range snapshot {
		if writeEvent(w, ev) != nil {
			return
		}
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case ev := <-sub.ch:
			if writeEvent(w, ev) != nil {
				return
			}
		}
	}
}

func writeEvent(w io.Writer, ev event) error {
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data)
	if err != nil {
		return fmt.Errorf("console: event: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client is gone; nothing to do
}

// apiError answers {"error": "…"} with code.
func apiError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
