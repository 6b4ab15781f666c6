// Package nginxrtmp writes the configuration of nginx with Debian's RTMP
// module (libnginx-mod-rtmp) on loopback, as the live-source tests and the
// live bench run it: RTMP application "live", the module's statistics on
// HTTP /stat, and optionally HLS written by the same nginx and served under
// /hls/. Starting and stopping the process is the caller's.
package nginxrtmp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is where libnginx-mod-rtmp installs the module.
const Module = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// ErrNoModule is returned, wrapped, when the module is not installed.
var ErrNoModule = errors.New("nginxrtmp: libnginx-mod-rtmp not installed (make deps installs it)")

// Config is one nginx's set-up. Its files (configuration, logs, pid, temp
// and HLS folders) are all in Dir.
type Config struct {
	Dir                string
	RTMPPort, HTTPPort int
	// HLS has nginx write HLS fragments of 1 s (30 s playlists) into
	// Dir/hls, served as http://127.0.0.1:HTTPPort/hls/KEY.m3u8.
	HLS bool
	// Connections bounds nginx's connections and open files; 0 is 64.
	Connections int
	// LogLevel is error.log's level; "" is warn.
	LogLevel string
}

// Text is the configuration file's text.
func (c Config) Text() string {
	conns := c.Connections
	if conns <= 0 {
		conns = 64
	}
	level := c.LogLevel
	if level == "" {
		level = "warn"
	}
	app := "application live { live on; record off; }"
	var types, hls string
	if c.HLS {
		app = fmt.Sprintf(`application live {
      live on;
      record off;
      hls on;
      hls_path %s/hls;
      hls_fragment 1s;
      hls_playlist_length 30s;
    }`, c.Dir)
		types = "\n  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }"
		hls = fmt.Sprintf("\n    location /hls/ { root %s; add_header Cache-Control no-cache; }", c.Dir)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `load_module %[1]s;
daemon off;
master_process off;
error_log %[2]s/error.log %[3]s;
pid %[2]s/nginx.pid;
worker_rlimit_nofile %[4]d;
events { worker_connections %[4]d; }
rtmp {
  server {
    listen 127.0.0.1:%[5]d;
    chunk_size 4096;
    %[6]s
  }
}
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;%[7]s
  server {
    listen 127.0.0.1:%[8]d;%[9]s
    location /stat { rtmp_stat all; }
  }
}
`, Module, c.Dir, level, conns, c.RTMPPort, app, types, c.HTTPPort, hls)
	return b.String()
}

// Write checks that the module is installed, writes Dir/nginx.conf (and
// makes Dir/hls with HLS) and returns nginx's arguments to run it in the
// foreground: nginx -p Dir -e Dir/error.log -c Dir/nginx.conf.
func (c Config) Write() ([]string, error) {
	if _, err := os.Stat(Module); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoModule, err)
	}
	if c.HLS {
		if err := os.MkdirAll(filepath.Join(c.Dir, "hls"), 0o755); err != nil {
			return nil, fmt.Errorf("nginxrtmp: %w", err)
		}
	}
	cf := filepath.Join(c.Dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(c.Text()), 0o644); err != nil {
		return nil, fmt.Errorf("nginxrtmp: %w", err)
	}
	return []string{"-p", c.Dir, "-e", filepath.Join(c.Dir, "error.log"), "-c", cf}, nil
}
