package console

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/match"
)

// TestOpenConsoleRefusesAddressOffLoopback: without a token or users, a
// console on 0.0.0.0 (reachable from the network) does not start, and one
// on loopback answers only loopback host names.
func TestOpenConsoleRefusesAddressOffLoopback(t *testing.T) {
	b := newBench(t)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	err = Serve(context.Background(), ln, Options{NATS: b.nc})
	require.ErrorIs(t, err, ErrNeedAuth)
	_, err = net.Dial("tcp", "127.0.0.1:"+portOf(t, ln.Addr()))
	require.Error(t, err, "the refused listener is closed")

	c := b.serve(t, "127.0.0.1:0", Access{})
	code, _ := call(t, "GET", c.base+"/api/alerts", "", nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = call(t, "GET", c.base+"/api/alerts", "", map[string]string{"Host": "rebound.example"})
	require.Equal(t, http.StatusMisdirectedRequest, code)
}

func portOf(t *testing.T, a net.Addr) string {
	t.Helper()
	_, port, err := net.SplitHostPort(a.String())
	require.NoError(t, err)
	return port
}

// TestTokenGuardsEveryPath runs a console on 0.0.0.0 with a shared token:
// the page, the API and the evidence answer 401 without it.
func TestTokenGuardsEveryPath(t *testing.T) {
	b := newBench(t)
	r := b.offer(t, "shop-1", 3000, "GUCCI bag 1:1 replica")
	b.publish(t, r)
	const token = "s3cret-token-of-the-test"
	c := b.serve(t, "0.0.0.0:0", Access{Token: token})
	bearer := map[string]string{"Authorization": "Bearer " + token}
	waitAlerts(t, c.base, bearer, 1)

	for _, path := range []string{"/", "/assets/app.js", "/api/alerts", "/api/alerts/" + r.AlertID, "/api/events",
		"/api/evidence/" + r.EvidenceFrame, "/api/streams", "/api/alerts/" + r.AlertID + "/verdicts"} {
		t.Run(path, func(t *testing.T) {
			code, _ := call(t, "GET", c.base+path, "", nil)
			require.Equal(t, http.StatusUnauthorized, code)
			code, _ = call(t, "GET", c.base+path, "", map[string]string{"Authorization": "Bearer wrong-token-of-the-test"})
			require.Equal(t, http.StatusUnauthorized, code)
		})
	}
	code, body := call(t, "GET", c.base+"/api/evidence/"+r.EvidenceFrame, "", bearer)
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.HasPrefix(body, "\xff\xd8"), "a JPEG")

	// A browser logs in once with /?token=, which sets the session cookie.
	code, _ = call(t, "GET", c.base+"/?token=wrong", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	session, err := cookieOf(t, c.base+"/?token="+token, sessionCookie, nil)
	require.NoError(t, err)
	code, _ = call(t, "GET", c.base+"/api/alerts", "", map[string]string{"Cookie": sessionCookie + "=" + session})
	require.Equal(t, http.StatusOK, code)
}

// TestUsersFileAndVerdictAuthor: basic-auth users from a file of bcrypt
// hashes (htpasswd's $2y$ too); a verdict is signed by the user logged in.
func TestUsersFileAndVerdictAuthor(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-pass"), bcrypt.MinCost)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "users")
	htpasswd := "$2y$" + strings.TrimPrefix(string(hash), "$2a$")
	require.NoError(t, os.WriteFile(file, []byte("# moderators\nalice:"+htpasswd+"\n"), 0o600))
	users, err := LoadUsers(file)
	require.NoError(t, err)

	b := newBench(t)
	r := b.offer(t, "shop-2", 5000, "LV AAA quality")
	b.publish(t, r)
	c := b.serve(t, "0.0.0.0:0", Access{Users: users})
	code, _ := call(t, "GET", c.base+"/api/alerts", "", map[string]string{"Authorization": basic("alice", "wrong")})
	require.Equal(t, http.StatusUnauthorized, code)
	auth := map[string]string{"Authorization": basic("alice", "alice-pass")}
	waitAlerts(t, c.base, auth, 1)

	csrf, err := cookieOf(t, c.base+"/", csrfCookie, auth)
	require.NoError(t, err)
	hdr := map[string]string{"Authorization": auth["Authorization"], "Cookie": csrfCookie + "=" + csrf,
		csrfHeader: csrf, "Content-Type": "application/json"}
	code, body := call(t, "POST", c.base+"/api/alerts/"+r.AlertID+"/verdicts", `{"verdict":"escalated","note":"ask legal","by":"mallory"}`, hdr)
	require.Equal(t, http.StatusCreated, code, body)
	var got Review
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, "alice", got.By, "the user logged in, not the name sent")
	require.Equal(t, VerdictEscalated, got.Verdict)
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// TestVerdictPostNeedsCSRFToken: a verdict POST without the CSRF cookie's
// value in its header, or from another origin, is refused and not stored.
func TestVerdictPostNeedsCSRFToken(t *testing.T) {
	b := newBench(t)
	r := b.offer(t, "shop-3", 1000, "GUCCI bag 1:1 replica")
	b.publish(t, r)
	c := b.serve(t, "127.0.0.1:0", Access{})
	waitAlerts(t, c.base, nil, 1)
	csrf, err := cookieOf(t, c.base+"/", csrfCookie, nil)
	require.NoError(t, err)
	url := c.base + "/api/alerts/" + r.AlertID + "/verdicts"
	body := `{"verdict":"confirmed","by":"bob"}`
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
	}{
		{"no token", map[string]string{"Content-Type": "application/json"}, http.StatusForbidden},
		{"cookie without header", map[string]string{"Content-Type": "application/json", "Cookie": csrfCookie + "=" + csrf}, http.StatusForbidden},
		{"header without cookie", map[string]string{"Content-Type": "application/json", csrfHeader: csrf}, http.StatusForbidden},
		{"wrong header", map[string]string{"Content-Type": "application/json", "Cookie": csrfCookie + "=" + csrf, csrfHeader: strings.Repeat("0", 64)}, http.StatusForbidden},
		{"other origin", map[string]string{"Content-Type": "application/json", "Cookie": csrfCookie + "=" + csrf, csrfHeader: csrf, "Origin": "http://evil.example"}, http.StatusForbidden},
		{"form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrfCookie + "=" + csrf, csrfHeader: csrf}, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := call(t, "POST", url, body, tc.header)
			require.Equal(t, tc.code, code, resp)
		})
	}
	code, resp := call(t, "GET", url, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `[]`, resp, "nothing stored")

	ok := map[string]string{"Content-Type": "application/json", "Cookie": csrfCookie + "=" + csrf, csrfHeader: csrf, "Origin": c.base}
	code, resp = call(t, "POST", url, body, ok)
	require.Equal(t, http.StatusCreated, code, resp)
	code, resp = call(t, "POST", url, `{"verdict":"maybe","by":"bob"}`, ok)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, resp, "want confirmed, dismissed or escalated")
	code, _ = call(t, "POST", c.base+"/api/alerts/ffff/verdicts", body, ok)
	require.Equal(t, http.StatusNotFound, code)
}

// TestAlertsAPIFiltersAndLatestRecord: one entry per alert id with its latest
// record, newest first, filtered as asked, spans cut out of the text.
func TestAlertsAPIFiltersAndLatestRecord(t *testing.T) {
	b := newBench(t)
	first := b.offer(t, "shop-a", 1000, "GUCCI bag 1:1 replica")
	b.publish(t, first)
	closed := first
	closed.Revision, closed.State, closed.EndMS = 1, alerts.StateClosed, 4000
	b.publish(t, closed)
	second := b.offer(t, "shop-b", 9000, "LV AAA quality")
	second.Brands, second.Severity = []string{"louis-vuitton"}, match.SeverityMedium
	second.StartedAt = alerts.FormatTime(time.Now().Add(time.Minute))
	b.publish(t, second)
	c := b.serve(t, "127.0.0.1:0", Access{})
	list := waitAlerts(t, c.base, nil, 2)
	require.Equal(t, 2, list.Unreviewed)
	require.Equal(t, second.AlertID, list.Alerts[0].AlertID, "newest first")
	require.Equal(t, alerts.StateClosed, list.Alerts[1].State, "the latest record of the alert")
	require.Equal(t, []Part{{Text: "GUCCI", Kind: match.KindBrand, ID: "gucci"}, {Text: " bag "},
		{Text: "1:1", Kind: match.KindPhrase, ID: "replica"}, {Text: " "}, {Text: "replica", Kind: match.KindPhrase, ID: "replica"}},
		list.Alerts[1].Lines[0].Parts)

	for _, tc := range []struct {
		query string
		want  []string
		code  int
	}{
		{"stream=shop-a", []string{first.AlertID}, http.StatusOK},
		{"brand=louis-vuitton", []string{second.AlertID}, http.StatusOK},
		{"severity=high", []string{first.AlertID}, http.StatusOK},
		{"state=open", []string{second.AlertID}, http.StatusOK},
		{"verdict=unreviewed", []string{second.AlertID, first.AlertID}, http.StatusOK},
		{"verdict=confirmed", nil, http.StatusOK},
		{"severity=extreme", nil, http.StatusBadRequest},
		{"verdict=maybe", nil, http.StatusBadRequest},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := call(t, "GET", c.base+"/api/alerts?"+tc.query, "", nil)
			require.Equal(t, tc.code, code, body)
			if code != http.StatusOK {
				return
			}
			var got alertList
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			var ids []string
			for _, a := range got.Alerts {
				ids = append(ids, a.AlertID)
			}
			require.Equal(t, tc.want, ids)
		})
	}
	code, _ := call(t, "GET", c.base+"/api/evidence/"+first.AlertID+"/not-a-key.jpg", "", nil)
	require.Equal(t, http.StatusNotFound, code, "only keys of records read are served")
}

func TestLoadTokenAndUsersRefuseBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	_, err := LoadToken(write("short", "abc\n"))
	require.ErrorIs(t, err, ErrTokenFile)
	tok, err := LoadToken(write("ok", "  0123456789abcdef0123\n"))
	require.NoError(t, err)
	require.Equal(t, "0123456789abcdef0123", tok)
	_, err = LoadUsers(write("plain", "bob:hunter2\n"))
	require.ErrorIs(t, err, ErrUsersFile)
	require.Contains(t, err.Error(), "line 1 (bob): not a bcrypt hash")
	_, err = LoadUsers(write("empty", "# nobody\n"))
	require.ErrorIs(t, err, ErrUsersFile)
}

// TestStreamsFromStatusEvents: the streams' latest state and their
// unwatched time, added up from the gap events heard.
func TestStreamsFromStatusEvents(t *testing.T) {
	b := newBench(t)
	c := b.serve(t, "127.0.0.1:0", Access{})
	// The console subscribes before it answers: once the page answers, a
	// status sent is heard.
	waitAlerts(t, c.base, nil, 0)
	// Its body names another stream than its subject: not taken.
	require.NoError(t, b.nc.Publish("streamwatch.streams.other.status", []byte(`{"stream_id":"shop-6","state":"ended"}`)))
	for _, st := range []string{
		`{"stream_id":"shop-5","state":"attached","at":"2026-01-02T10:00:00.000Z","media_ms":0,"attempt":0}`,
		`{"stream_id":"shop-5","state":"reconnecting","at":"2026-01-02T10:01:00.000Z","media_ms":60000,"attempt":1,"error":"read: timeout"}`,
		`{"stream_id":"shop-5","state":"gap","at":"2026-01-02T10:01:02.500Z","media_ms":60000,"attempt":1,
		  "gap":{"from_ms":60000,"to_ms":62500,"from":"2026-01-02T10:01:00.000Z","to":"2026-01-02T10:01:02.500Z"}}`,
		`{"stream_id":"shop-5","state":"attached","at":"2026-01-02T10:01:02.500Z","media_ms":62500,"attempt":1}`,
	} {
		require.NoError(t, b.nc.Publish("streamwatch.streams.shop-5.status", []byte(st)))
	}
	require.NoError(t, b.nc.Flush())
	var got []StreamView
	require.Eventually(t, func() bool {
		_, body := call(t, "GET", c.base+"/api/streams", "", nil)
		got = nil
		return json.Unmarshal([]byte(body), &got) == nil && len(got) > 0 && got[len(got)-1].MediaMS == 62500
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []StreamView{{StreamID: "shop-5", State: "attached", At: "2026-01-02T10:01:02.500Z", MediaMS: 62500,
		Gaps: 1, UnwatchedMS: 2500}}, got)
}
