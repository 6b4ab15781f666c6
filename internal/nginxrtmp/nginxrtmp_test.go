package nginxrtmp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigsAreNginxs: nginx itself accepts both set-ups (nginx -t).
func TestConfigsAreNginxs(t *testing.T) {
	if _, err := os.Stat(Module); err != nil {
		t.Skip("libnginx-mod-rtmp not installed (make test installs it)")
	}
	for _, c := range []Config{
		{RTMPPort: 19350, HTTPPort: 19351},
		{RTMPPort: 19352, HTTPPort: 19353, HLS: true, LogLevel: "info", Connections: 500},
	} {
		c.Dir = t.TempDir()
		args, err := c.Write()
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("nginx", append([]string{"-t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nginx -t refuses %+v: %v\n%s\n%s", c, err, out, c.Text())
		}
		if _, err := os.Stat(filepath.Join(c.Dir, "hls")); c.HLS != (err == nil) {
			t.Errorf("HLS %v: the hls folder's stat says %v", c.HLS, err)
		}
		if got := strings.Contains(c.Text(), "hls on;"); got != c.HLS {
			t.Errorf("HLS %v, but the text says hls: %v", c.HLS, got)
		}
	}
}
