package benchlive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/streamwatch/streamwatch/internal/nginxrtmp"
)

// ErrPeer is returned, wrapped, when a server the bench starts does not come up.
var ErrPeer = errors.New("benchlive: peer not up")

const (
	peerTimeout = 20 * time.Second
	pollEvery   = 50 * time.Millisecond
)

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("benchlive: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("benchlive: %w", err)
	}
	return port, nil
}

// waitUp polls ok until it holds, c exits, ctx ends or peerTimeout passes.
func waitUp(ctx context.Context, c *child, what, logPath string, ok func() bool) error {
	deadline := time.Now().Add(peerTimeout)
	for !ok() {
		if c.exited() {
			return exitedEarly(ErrPeer, what, c, logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s not up after %s (log %s)", ErrPeer, what, peerTimeout, logPath)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(pollEvery):
		}
	}
	return nil
}

// exitedEarly describes a child that exited when it should not have, with
// the last lines of its log.
func exitedEarly(kind error, what string, c *child, logPath string) error {
	if c.err != nil {
		return fmt.Errorf("%w: %s exited: %w: %s", kind, what, c.err, lastLines(logPath, 5))
	}
	return fmt.Errorf("%w: %s exited with status 0: %s", kind, what, lastLines(logPath, 5))
}

// startNginx runs nginx with the RTMP module in dir: RTMP on a free port
// (application "live") and its statistics over HTTP on /stat, sized for
// streams publishers and as many players.
func startNginx(ctx context.Context, g *procGroup, dir string, streams int) (rtmpPort int, nginx *child, err error) {
	if rtmpPort, err = freePort(); err != nil {
		return 0, nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return 0, nil, err
	}
	args, err := nginxrtmp.Config{Dir: dir, RTMPPort: rtmpPort, HTTPPort: httpPort, Connections: 4*streams + 64}.Write()
	if errors.Is(err, nginxrtmp.ErrNoModule) {
		return 0, nil, fmt.Errorf("%w: %w", ErrPeer, err)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("benchlive: %w", err)
	}
	c, err := g.start("nginx", exec.Command("nginx", args...), filepath.Join(dir, "nginx.log"))
	if err != nil {
		return 0, nil, err
	}
	return rtmpPort, c, waitUp(ctx, c, "nginx", filepath.Join(dir, "error.log"), func() bool { return dialable(rtmpPort) })
}

func dialable(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close() // a probe: nothing was sent
	return true
}

// worker is the streamwatch worker under measurement.
type worker struct {
	*child
	pid        int
	metricsURL string // http://host:port/metrics
}

// startWorker runs `bin worker` against natsURL with room for capacity
// streams, its metrics on a port of its choosing, and waits until /readyz
// answers 200.
func startWorker(ctx context.Context, g *procGroup, bin, natsURL, dir string, capacity int, extra []string) (*worker, error) {
	args := []string{"worker", "--nats", natsURL, "--capacity", strconv.Itoa(capacity),
		"--metrics-addr", "127.0.0.1:0", "--log-format", "json",
		"--outbox-dir", filepath.Join(dir, "outbox"), "--worker-id", "bench"}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	// stderr is the JSON log, read for the metrics address; stdout the records.
	logPath := filepath.Join(dir, "worker.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	addr := make(chan string, 1)
	cmd.Stderr = &lineTee{w: logf, fn: func(line []byte) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "metrics listening" {
			select {
			case addr <- rec.Addr:
			default:
			}
		}
	}}
	c, err := g.start("worker", cmd, filepath.Join(dir, "worker.out"))
	if err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		<-c.done
		if cerr := logf.Close(); cerr != nil {
			g.log.Warn("worker log not closed", "err", cerr)
		}
	}()
	w := &worker{child: c, pid: cmd.Process.Pid}
	select {
	case w.metricsURL = <-addr:
	case <-c.done:
		return nil, exitedEarly(ErrPeer, "worker", c, logPath)
	case <-time.After(peerTimeout):
		return nil, fmt.Errorf("%w: worker logged no metrics address within %s (log %s)", ErrPeer, peerTimeout, logPath)
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	readyz := strings.TrimSuffix(w.metricsURL, "/metrics") + "/readyz"
	return w, waitUp(ctx, c, "worker /readyz", logPath, func() bool { return httpOK(ctx, readyz) })
}

func httpOK(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode == http.StatusOK
}

// startPublisher runs ffmpeg publishing clip to url in real time (-re) with
// the packets as they are (-c copy), looping it when loop is set.
func startPublisher(g *procGroup, clip, url, logPath string, loop bool) (*child, error) {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re"}
	if loop {
		args = append(args, "-stream_loop", "-1")
	}
	args = append(args, "-i", clip, "-c", "copy", "-f", "flv", url)
	return g.start("publisher", exec.Command("ffmpeg", args...), logPath)
}
