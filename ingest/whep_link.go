package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// parseICELinks reads the ICE servers from the Link header values of a WHEP answer
// (RFC 9725 section 4.6): `<stun:stun.example.net>; rel="ice-server"`, and for TURN
// `<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u";
// credential="p"; credential-type="password"`. Links of other relations and URLs of
// other schemes are skipped, as are malformed links.
func parseICELinks(values []string) []webrtc.ICEServer {
	var servers []webrtc.ICEServer
	for _, v := range values {
		for _, l := range splitLinks(v) {
			target, params, ok := parseLink(l)
			if !ok || !hasRel(params["rel"], "ice-server") {
				continue
			}
			scheme, _, _ := strings.Cut(target, ":")
			switch strings.ToLower(scheme) {
			case "stun", "stuns", "turn", "turns":
			default:
				continue
			}
			s := webrtc.ICEServer{URLs: []string{target}}
			if u, ok := params["username"]; ok {
				s.Username = u
				s.Credential = params["credential"]
				s.CredentialType = webrtc.ICECredentialTypePassword
			}
			servers = append(servers, s)
		}
	}
	return servers
}

// splitLinks splits a Link header value at the commas between links, not those
// inside <…> or quoted strings.
func splitLinks(v string) []string {
	var (
		out           []string
		start         int
		inURL, inQuot bool
	)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuot && c == '\\':
			i++
		case inQuot:
			inQuot = c != '"'
		case inURL:
			inURL = c != '>'
		case c == '<':
			inURL = true
		case c == '"':
			inQuot = true
		case c == ',':
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// parseLink parses one `<target>; key=value; key="quoted value"` link. Parameter
// names are lower-cased; the first of a repeated parameter wins.
func parseLink(l string) (target string, params map[string]string, ok bool) {
	l = strings.TrimSpace(l)
	if !strings.HasPrefix(l, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(l, '>')
	if end < 0 {
		return "", nil, false
	}
	target = strings.TrimSpace(l[1:end])
	params = map[string]string{}
	rest := l[end+1:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return target, params, target != ""
		}
		if rest[0] != ';' {
			return "", nil, false
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		i := strings.IndexAny(rest, "=;")
		if i < 0 || rest[i] == ';' {
			// A parameter without a value.
			name := rest
			if i >= 0 {
				name, rest = rest[:i], rest[i:]
			} else {
				rest = ""
			}
			name = strings.ToLower(strings.TrimSpace(name))
			if _, seen := params[name]; !seen && name != "" {
				params[name] = ""
			}
			continue
		}
		name := strings.ToLower(strings.TrimSpace(rest[:i]))
		rest = strings.TrimLeft(rest[i+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var sb strings.Builder
			j := 1
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
				}
				sb.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return "", nil, false // unterminated quote
			}
			val, rest = sb.String(), rest[j+1:]
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:j]), rest[j:]
		}
		if _, seen := params[name]; !seen {
			params[name] = val
		}
	}
}

// hasRel reports whether the space-separated relation types rel include want.
func hasRel(rel, want string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// pionLoggerFactory routes pion's logs to slog, with scope naming the pion part.
type pionLoggerFactory struct{ log *slog.Logger }

// NewLogger implements logging.LoggerFactory.
func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("scope", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// pion's trace lines are per packet and dropped; its info lines (state changes) are
// debug here, since the stream logs its own state.
func (l pionLogger) Trace(string)          {}
func (l pionLogger) Tracef(string, ...any) {}
func (l pionLogger) Debug(msg string)      { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Debugf(f string, a ...any) {
	l.logf(slog.LevelDebug, f, a...)
}
func (l pionLogger) Info(msg string)           { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(f string, a ...any)  { l.logf(slog.LevelDebug, f, a...) }
func (l pionLogger) Warn(msg string)           { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Warnf(f string, a ...any)  { l.logf(slog.LevelWarn, f, a...) }
func (l pionLogger) Error(msg string)          { l.logf(slog.LevelError, "%s", msg) }
func (l pionLogger) Errorf(f string, a ...any) { l.logf(slog.LevelError, f, a...) }
