package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/ocr/ppocr"
)

var errHelp = errors.New("help shown")

// common holds the flags that watch and replay share.
type common struct {
	fs             *flag.FlagSet // where they are registered, nil in a bare common
	config         string
	rules          string
	streamID       string
	channel        string
	sampleInterval time.Duration
	decode         ingest.DecodeMode
	out            string
	metricsAddr    string
	pprof          bool
	logFormat      string
	logLevel       string
	nats           natsFlags
	ocrWorkers     int
	ocrEngine      ocrEngine
	ppocrDir       string
	languages      string
	// warmOCR has the OCR clients initialised at start, in the background:
	// always for watch and worker (long-running, and their first caption
	// should not wait), for replay and read with --ocr-warm; otherwise each
	// on its first read.
	warmOCR        bool
	gap            time.Duration
	minHits        int
	maxSegment     time.Duration
	evidenceDir    string
	outboxDir      string
	outboxMax      int
	alertsMaxAge   time.Duration
	alertsMaxBytes int64
	evidenceMaxAge time.Duration
	evidenceMaxMB  int64
	reconnectMax   time.Duration
	stallTimeout   time.Duration
	allowOrigins   originsFlag // watch and worker only
	consoleAddr    string      // watch only: --console
	inspect        bool        // read: no sinks, no NATS; set by the command, not a flag
	// stderr is where logs and alert lines go: os.Stderr, or replay's
	// progress line on a terminal, which keeps itself below them.
	stderr io.Writer
}

// originsFlag is --allow-source-origin: repeatable, and comma-separated
// within one value (for the environment and --config).
type originsFlag []ingest.Origin

func (f *originsFlag) String() string {
	s := make([]string, len(*f))
	for i, o := range *f {
		s[i] = o.String()
	}
	return strings.Join(s, ",")
}

func (f *originsFlag) Set(v string) error {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' }) {
		o, err := ingest.ParseOrigin(part)
		if err != nil {
			return err //nolint:wrapcheck // the flag package names the flag
		}
		*f = append(*f, o)
	}
	return nil
}

// registerSourceFlags adds the flags of the commands that open network
// sources (watch and worker; replay reads files only).
func (c *common) registerSourceFlags(fs *flag.FlagSet) {
	fs.Var(&c.allowOrigins, "allow-source-origin", "an origin (https://cdn.example.com, or https://*.cdn.example.com for every host below it) besides the source URL's own that a source's playlists, keys and redirects may fetch from; repeatable; default none")
}

// commandFlags returns the flag set of a command that runs monitors, with
// the common flags registered in the returned common.
func commandFlags(name, metricsDefault string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := &common{fs: fs, stderr: os.Stderr}
	c.register(fs, metricsDefault)
	return fs, c
}

func (c *common) register(fs *flag.FlagSet, metricsDefault string) {
	fs.StringVar(&c.config, "config", "", "YAML file of flag values (keys are flag names); environment STREAMWATCH_* and flags override it")
	fs.StringVar(&c.rules, "rules", "", "rules file (YAML); default: the rules built into the binary")
	fs.StringVar(&c.streamID, "stream-id", "", "stream id, [A-Za-z0-9_-]{1,128}; default: derived from the URL or file name")
	fs.StringVar(&c.channel, "channel", "", "seller channel of the stream, for brands' authorized_channels")
	fs.DurationVar(&c.sampleInterval, "sample-interval", time.Second, "media time between sampled frames")
	c.decode = ingest.DecodeAuto
	fs.Var(&c.decode, "decode", "which frames to decode: auto (keyframes while no text line changes, every frame around a change), keyframes or all")
	fs.StringVar(&c.out, "out", "", "append every alert record to this file as one JSON line")
	fs.StringVar(&c.metricsAddr, "metrics-addr", metricsDefault, "serve Prometheus /metrics and /healthz on this address; empty: off")
	fs.BoolVar(&c.pprof, "pprof", false, "also serve Go's profiles (net/http/pprof) under /debug/pprof/ on --metrics-addr")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.nats.register(fs)
	fs.IntVar(&c.ocrWorkers, "ocr-workers", runtime.NumCPU(), "OCR workers: Tesseract clients, and as many PP-OCR sessions (one thread each)")
	c.ocrEngine = defaultEngine
	fs.Var(&c.ocrEngine, "ocr-engine", "engine that reads text lines: tesseract, ppocr (PP-OCRv4 on ONNX Runtime) or auto (each where it wins; Tesseract alone without PP-OCR's files)")
	fs.StringVar(&c.ppocrDir, "ppocr-dir", ppocr.DefaultDir(), "folder of PP-OCR's files (ONNX Runtime, models, dictionary), as make ppocr-files installs them")
	fs.BoolVar(&c.warmOCR, "ocr-warm", false, "load the Tesseract clients (English and Simplified Chinese, per OCR worker) at start, not on their first read; watch and worker always do")
	fs.StringVar(&c.languages, "languages", "eng+chi_sim+chi_tra", "Tesseract languages, joined with +")
	fs.DurationVar(&c.gap, "gap", 3*time.Second, "longest media-time gap without a hit that a segment bridges")
	fs.IntVar(&c.minHits, "min-hits", 2, "sampled frames with a hit before a segment opens")
	fs.DurationVar(&c.maxSegment, "max-segment", 10*time.Minute, "media time after which an open segment is closed and a new one opened")
	fs.StringVar(&c.evidenceDir, "evidence-dir", "", "store evidence JPEGs in this directory instead of the NATS object store bucket streamwatch_evidence")
	fs.StringVar(&c.outboxDir, "outbox-dir", defaultOutboxDir(), "root of the on-disk outbox that keeps alert records while NATS is unreachable; each process uses a locked directory of its own under it")
	fs.IntVar(&c.outboxMax, "outbox-max", 10000, "most records the outbox holds; beyond it update records are dropped first")
	fs.DurationVar(&c.alertsMaxAge, "alerts-max-age", 0, "retention of the STREAMWATCH_ALERTS stream by age; 0 keeps records")
	fs.Int64Var(&c.alertsMaxBytes, "alerts-max-bytes", 0, "retention of the STREAMWATCH_ALERTS stream by size in bytes; 0 is no limit")
	fs.DurationVar(&c.evidenceMaxAge, "evidence-max-age", 0, "how long evidence images are kept in the object store; 0 keeps them")
	fs.Int64Var(&c.evidenceMaxMB, "evidence-max-mb", 1024, "size bound of the evidence object store bucket in MiB; 0 is no limit")
	fs.DurationVar(&c.reconnectMax, "reconnect-max", 30*time.Second, "longest wait between reconnects to a live source (backoff from 500ms, doubling, with jitter)")
	fs.DurationVar(&c.stallTimeout, "stall-timeout", 10*time.Second, "reconnect a live source that hands on no frame for this long")
}

func defaultOutboxDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "streamwatch", "outbox")
}

// parse parses args with flags and positional arguments in any order, after
// applying the config file and STREAMWATCH_* environment variables.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stdout)
				fs.Usage()
				return nil, errHelp
			}
			return nil, usageError{err}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	// Precedence: flags over environment over config file. Apply the lower
	// layers only to flags not given on the command line.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		if err := applyConfig(fs, f.Value.String(), given); err != nil {
			return nil, err
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envErr != nil {
			return
		}
		key := "STREAMWATCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usageError{fmt.Errorf("%s=%s: %w", key, echo.Quote(v), err)}
			}
		}
	})
	return pos, envErr
}

func applyConfig(fs *flag.FlagSet, file string, given map[string]bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return usageError{fmt.Errorf("config: %w", err)}
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return usageError{fmt.Errorf("config %s: %w", file, err)}
	}
	for k, v := range m {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return usageError{fmt.Errorf("config %s: unknown key %s", file, echo.Quote(k))}
		}
		if given[k] {
			continue
		}
		if err := fs.Set(k, fmt.Sprint(v)); err != nil {
			return usageError{fmt.Errorf("config %s: %s: %w", file, k, err)}
		}
	}
	return nil
}

func (c *common) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %s: want debug, info, warn or error", echo.Quote(c.logLevel))}
	}
	opts := &slog.HandlerOptions{Level: level}
	w := c.errOut()
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %s: want text or json", echo.Quote(c.logFormat))}
}

// errOut is where logs and alert lines go.
func (c *common) errOut() io.Writer {
	if c.stderr == nil {
		return os.Stderr
	}
	return c.stderr
}

// given reports whether flag name was set, on the command line, in the
// environment or in the config file, rather than left at its default.
func (c *common) given(name string) bool {
	found := false
	if c.fs != nil {
		c.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	}
	return found
}

// failure marks err, if any, to be reported as a JSON log entry when the
// log is JSON, so that every line on stderr parses.
func (c *common) failure(err error) error {
	if err == nil || c.logFormat != "json" {
		return err
	}
	return jsonFailure{err}
}

func (c *common) loadRules() (*match.Rules, error) {
	if c.rules == "" {
		return match.DefaultRules(), nil
	}
	return match.LoadRules(c.rules)
}

// streamIDFor returns the --stream-id if given, else one derived from src.
func (c *common) streamIDFor(src string) (string, error) {
	id := c.streamID
	if id == "" {
		base := src
		if i := strings.Index(base, "://"); i >= 0 {
			base = base[i+3:]
			if at := strings.LastIndex(base, "@"); at >= 0 { // never put credentials in an id
				base = base[at+1:]
			}
		} else {
			base = path.Base(base)
			base = strings.TrimSuffix(base, path.Ext(base))
		}
		return alerts.SanitizeStreamID(base), nil
	}
	if err := alerts.ValidateStreamID(id); err != nil {
		return "", usageError{err}
	}
	return id, nil
}

// digest is the size and SHA-256 of a recording, for its stream id and
// the report's chain of custody.
type digest struct {
	regular bool // a regular file: size and sum are known
	size    int64
	sum     [sha256.Size]byte
}

// recordingDigest reads src, a local file, and returns its digest and the
// stream id of a recording replayed without --stream-id: its file name and
// a prefix of the SHA-256 of its content (alerts.RecordingStreamID), so
// that two replays of one file give the same ids and different files never
// share them. What is no regular file (a pipe) cannot be read twice, and
// what does not open is not decoded either: they get the id of their name
// alone and no digest (logAsPipe logs it for a pipe).
func recordingDigest(ctx context.Context, src string, logAsPipe bool, log *slog.Logger) (string, digest, error) {
	p, ok := ingest.LocalPath(src)
	if !ok {
		return alerts.SanitizeStreamID(src), digest{}, nil
	}
	base := filepath.Base(p)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	f, err := os.Open(p)
	if err != nil {
		// Opening it for decoding fails the same way, and says so as for
		// any input that does not open.
		return alerts.SanitizeStreamID(base), digest{}, nil
	}
	defer f.Close() //nolint:errcheck // opened for reading only
	st, err := f.Stat()
	if err != nil {
		return "", digest{}, fmt.Errorf("replay: %w", err)
	}
	if !st.Mode().IsRegular() {
		id := alerts.SanitizeStreamID(base)
		if logAsPipe {
			log.Warn("not a regular file: stream id from its name alone", "component", "cmd", "file", p, "stream", id)
		}
		return id, digest{}, nil
	}
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", digest{}, fmt.Errorf("replay: read %s: %w", p, err)
	}
	d := digest{regular: true, size: n}
	h.Sum(d.sum[:0])
	return alerts.RecordingStreamID(base, d.sum), d, nil
}

// ctxReader reads from r until ctx ends, so that hashing a large file
// stops on SIGTERM.
type ctxReader struct {
	ctx context.Context //nolint:containedctx // lives for one io.Copy
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err //nolint:wrapcheck // the caller wraps it
	}
	return c.r.Read(p) //nolint:wrapcheck // the caller wraps it
}

func (c *common) validate() error {
	for _, f := range []struct {
		name string
		ok   bool
		got  any
	}{
		{"sample-interval", c.sampleInterval > 0, c.sampleInterval},
		{"ocr-workers", c.ocrWorkers > 0, c.ocrWorkers},
		{"gap", c.gap > 0, c.gap},
		{"min-hits", c.minHits > 0, c.minHits},
		{"max-segment", c.maxSegment > 0, c.maxSegment},
		{"reconnect-max", c.reconnectMax > 0, c.reconnectMax},
		{"stall-timeout", c.stallTimeout > 0, c.stallTimeout},
		{"outbox-max", c.outboxMax > 0, c.outboxMax},
	} {
		if !f.ok {
			return usageError{fmt.Errorf("--%s must be positive, got %v", f.name, f.got)}
		}
	}
	return nil
}

// oneLine folds an error message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
