package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
)

// bench is an embedded JetStream server with the alert stream and the
// evidence bucket, as watch makes them.
type bench struct {
	url string
	nc  *nats.Conn
	js  jetstream.JetStream
	obs alerts.ObjectStore
}

func newBench(t *testing.T) *bench {
	t.Helper()
	url := testutil.NATSServer(t).ClientURL()
	nc := testutil.Connect(t, url)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = alerts.EnsureStream(ctx, js)
	require.NoError(t, err)
	obs, err := alerts.EnsureEvidenceBucket(ctx, js, 0, 0)
	require.NoError(t, err)
	return &bench{url: url, nc: nc, js: js, obs: obs}
}

// running is a console served by a test.
type running struct {
	base   string // http://host:port
	cancel context.CancelFunc
	done   chan error
}

// serve runs a console on addr with access until stop or the end of t.
func (b *bench) serve(t *testing.T, addr string, access Access) *running {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	r.base = "http://127.0.0.1:" + port
	go func() { r.done <- Serve(ctx, ln, Options{NATS: b.nc, Access: access}) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the console and waits for it; it must end without error.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("console did not stop")
	}
	r.done = nil
}

// offer is an alert record of the counterfeit-offer rule on stream, with its
// evidence frame and crop stored.
func (b *bench) offer(t *testing.T, stream string, startMS int64, text string) alerts.Record {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 640, 360))
	for y := 150; y < 210; y++ {
		for x := 60; x < 580; x++ {
			img.SetGray(x, y, color.Gray{Y: 230})
		}
	}
	e := match.Evidence{AtMS: startMS, Text: text, Confidence: 91.5, Box: match.Box{X: 60, Y: 150, W: 520, H: 60}}
	id := alerts.AlertID(stream, "counterfeit-offer", startMS, "")
	r := alerts.Record{SchemaVersion: alerts.SchemaVersion, AlertID: id, State: alerts.StateOpen, Rule: "counterfeit-offer",
		Severity: match.SeverityHigh, StreamID: stream, Brands: []string{"gucci"}, Phrases: []string{"replica"},
		StartMS: startMS, EndMS: startMS + 1000, StartedAt: alerts.FormatTime(time.Now()), UpdatedAt: alerts.FormatTime(time.Now()),
		Evidence: []alerts.Evidence{{Evidence: e, Crop: alerts.CropKey(id, e)}}, EvidenceFrame: alerts.FrameKey(id, startMS)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frame, err := alerts.EncodeFrame(img, []match.Box{e.Box})
	require.NoError(t, err)
	require.NoError(t, b.obs.Put(ctx, r.EvidenceFrame, frame))
	crop, err := alerts.EncodeCrop(img, e.Box)
	require.NoError(t, err)
	require.NoError(t, b.obs.Put(ctx, r.Evidence[0].Crop, crop))
	return r
}

// publish stores r in the alert stream as watch does.
func (b *bench) publish(t *testing.T, r alerts.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, (&alerts.JetStreamSink{JS: b.js}).Publish(ctx, r))
}

// call makes one request and returns the status and body.
func call(t *testing.T, method, url string, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if h := header["Host"]; h != "" {
		req.Host = h
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

// waitAlerts polls GET /api/alerts until it lists n alerts.
func waitAlerts(t *testing.T, base string, header map[string]string, n int) alertList {
	t.Helper()
	var list alertList
	require.Eventually(t, func() bool {
		code, body := call(t, "GET", base+"/api/alerts", "", header)
		if code != http.StatusOK {
			return false
		}
		list = alertList{}
		return json.Unmarshal([]byte(body), &list) == nil && len(list.Alerts) == n
	}, 15*time.Second, 20*time.Millisecond)
	return list
}

// noRedirect is a client that hands back redirects.
var noRedirect = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var errNoCookie = errors.New("no such cookie")

// cookieOf returns the value of the cookie name that the page sets.
func cookieOf(t *testing.T, url, name string, header map[string]string) (string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("%w %s (status %d)", errNoCookie, name, resp.StatusCode)
}
