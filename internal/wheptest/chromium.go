package wheptest

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

// Chromium is a headless Chromium process.
type Chromium struct {
	cmd    *exec.Cmd
	stderr *testutil.SyncBuffer
	done   chan struct{}
}

// ChromiumPath finds the Chromium binary, "" if none is installed.
func ChromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// StartChromium opens page in headless Chromium whose fake camera plays y4m (in a
// loop) and grants camera access without asking. profileDir must be an empty
// directory. Close kills it.
func StartChromium(page, y4m, profileDir string) (*Chromium, error) {
	bin := ChromiumPath()
	if bin == "" {
		return nil, fmt.Errorf("chromium is not installed")
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--mute-audio",
		"--user-data-dir=" + profileDir,
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--use-file-for-fake-video-capture=" + y4m,
		"--allow-loopback-in-peer-connection",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		// A background tab must not throttle timers or encoding.
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
		page,
	}
	c := &Chromium{cmd: exec.Command(bin, args...), stderr: &testutil.SyncBuffer{Limit: 1 << 20}, done: make(chan struct{})}
	c.cmd.Stdout = c.stderr
	c.cmd.Stderr = c.stderr
	// Its own process group, so Close also ends the renderer and GPU helpers.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Output is what Chromium has written so far (its log), trimmed to the last n bytes.
func (c *Chromium) Output(n int) string {
	s := c.stderr.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// Exited reports whether the process has ended.
func (c *Chromium) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Close kills Chromium and its helper processes and waits for it.
func (c *Chromium) Close() {
	pgid := c.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-c.done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // helpers that outlived the browser
}

// PublisherPage is an HTML page that takes the camera and publishes it over WHIP to
// "/whip" of its own origin, preferring codec (a MIME type such as "video/H264"), and
// POSTs JSON events to "/report": {"event":"camera","t":ms} when the camera started
// (Date.now()), {"event":"state","state":…}, {"event":"error","error":…}.
func PublisherPage(codec string) string {
	return strings.ReplaceAll(publisherPage, "CODEC", codec)
}

const publisherPage = `<!doctype html>
<html><body><script>
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
(async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
    const track = stream.getVideoTracks()[0];
    await report({event: 'camera', t: Date.now(), settings: track.getSettings()});
    track.contentHint = 'text'; // keep the resolution, captions must stay legible
    const pc = new RTCPeerConnection();
    pc.onconnectionstatechange = () => report({event: 'state', state: pc.connectionState, t: Date.now()});
    const tr = pc.addTransceiver(track, {direction: 'sendonly'});
    try {
      const want = RTCRtpReceiver.getCapabilities('video').codecs
        .filter(c => c.mimeType.toLowerCase() === 'CODEC'.toLowerCase());
      if (want.length) tr.setCodecPreferences(want);
    } catch (e) { report({event: 'warning', error: 'codec preferences: ' + e}); }
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 5000);
    });
    const resp = await fetch('/whip', {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
    if (resp.status !== 201) throw new Error('WHIP answered ' + resp.status + ': ' + await resp.text());
    await pc.setRemoteDescription({type: 'answer', sdp: await resp.text()});
    const p = tr.sender.getParameters();
    p.degradationPreference = 'maintain-resolution';
    if (p.encodings && p.encodings[0]) p.encodings[0].maxBitrate = 2500000;
    try { await tr.sender.setParameters(p); } catch (e) { report({event: 'warning', error: 'parameters: ' + e}); }
    window.pc = pc;
  } catch (e) {
    report({event: 'error', error: String(e)});
  }
})();
</script></body></html>
`
