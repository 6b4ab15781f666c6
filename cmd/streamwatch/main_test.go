package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

var binary string

// TestMain builds the binary the tests run. Its goroutines run in child
// processes, out of goleak's sight.
func TestMain(m *testing.M) {
	var dir string
	testutil.MainWith(m, testutil.MainOptions{
		NoLeakCheck: true,
		Setup: func() error {
			var err error
			if dir, err = os.MkdirTemp("", "streamwatch-bin-"); err != nil {
				return err
			}
			binary = filepath.Join(dir, "streamwatch")
			if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
				return fmt.Errorf("go build: %w\n%s", err, out)
			}
			return nil
		},
		Teardown: func() {
			if err := os.RemoveAll(dir); err != nil {
				fmt.Fprintln(os.Stderr, "test binary not removed:", err)
			}
		},
	})
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, timeout time.Duration, stdin string, args ...string) result {
	t.Helper()
	r, _ := runBinFrom(t, timeout, strings.NewReader(stdin), args...)
	return r
}

// runBinFrom is runBin with stdin from a reader; it also returns the ended
// process's state (its resource usage).
func runBinFrom(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) (result, *os.ProcessState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "NATS_URL=", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	cmd.Stdin = stdin
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "timed out; stderr: %s", se.String())
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, so.String(), se.String()}, cmd.ProcessState
}

// offerClip is a 10 s clip with "GUCCI bag 1:1 replica" shown from 3 s to 7 s.
func offerClip(t *testing.T) string {
	return testutil.Generate(t, clipgen.Clip{
		Name: "offer", DurationMS: 10000, Background: "testsrc2",
		Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: 3000, EndMS: 7000, Size: 48, Box: "black@0.6"}},
	})
}

func TestBadInputEndsWithOneLineError(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("this is not a video\n"), 0o644))
	clip, err := os.ReadFile(offerClip(t))
	require.NoError(t, err)
	truncated := filepath.Join(dir, "truncated.mp4")
	require.NoError(t, os.WriteFile(truncated, clip[:len(clip)/3], 0o644))
	badRules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(badRules, []byte("rules:\n  - id: x\n    severity: extreme\n    require: [brand]\n"), 0o644))

	tests := []struct {
		name string
		args []string
		code int
		want string // in the error line
	}{
		{"missing file", []string{"replay", filepath.Join(dir, "nope.mp4")}, 1, "nope.mp4"},
		{"unknown scheme", []string{"watch", "gopher://example.invalid/x", "--metrics-addr", ""}, 1, "unsupported URL scheme"},
		{"non-video file", []string{"replay", text}, 1, "notes.txt"},
		{"truncated mp4", []string{"replay", truncated}, 1, "truncated.mp4"},
		{"malformed rules file", []string{"replay", offerClip(t), "--rules", badRules}, 1, "severity"},
		{"invalid stream id", []string{"replay", offerClip(t), "--stream-id", "bad id!"}, 2, "invalid stream id"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"replay", "--frob", "x"}, 2, "frob"},
		{"watch without url", []string{"watch"}, 2, "one URL"},
		{"read: missing file", []string{"read", filepath.Join(dir, "nope.mp4")}, 1, "nope.mp4"},
		{"read: non-video file", []string{"read", text}, 1, "notes.txt"},
		{"read: unknown scheme", []string{"read", "gopher://example.invalid/x"}, 1, "unsupported URL scheme"},
		{"read: frames-dir is a file", []string{"read", offerClip(t), "--frames-dir", text}, 1, "--frames-dir"},
		{"read: no input", []string{"read"}, 2, "one FILE or URL"},
		{"read: two inputs", []string{"read", text, text}, 2, "one FILE or URL"},
		{"read: a flag of publishing", []string{"read", text, "--out", filepath.Join(dir, "x")}, 2, "--out has no use in read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, 90*time.Second, "", tc.args...)
			require.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			require.True(t, strings.HasPrefix(last, "streamwatch: "), "last line: %q", last)
			require.Contains(t, last, tc.want)
			require.NotContains(t, r.stderr, "panic")
			require.NotContains(t, r.stderr, "goroutine ")
		})
	}
}

func readRecords(t *testing.T, path string) []alerts.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rs []alerts.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r alerts.Record
		require.NoError(t, alerts.ValidateRecordJSON(sc.Bytes()), "%s", sc.Bytes())
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		rs = append(rs, r)
	}
	return rs
}

func TestReplayTwiceWritesIdenticalRecords(t *testing.T) {
	clip := offerClip(t)
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		out := filepath.Join(dir, "run"+string(rune('a'+i))+".jsonl")
		r := runBin(t, 3*time.Minute, "", "replay", clip, "--out", out)
		require.Equal(t, 0, r.code, r.stderr)
		var err error
		outs[i], err = os.ReadFile(out)
		require.NoError(t, err)
	}
	require.NotEmpty(t, outs[0])
	require.Equal(t, string(outs[0]), string(outs[1]))
	rs := readRecords(t, filepath.Join(dir, "runa.jsonl"))
	for _, r := range rs {
		require.Regexp(t, `^offer-[0-9a-f]{16}$`, r.StreamID)
	}
	requireOfferClipAlert(t, rs)
}

// requireOfferClipAlert checks that records hold one closed counterfeit-offer
// alert, at offerClip's caption (3 s to 7 s, give or take 1.5 s).
func requireOfferClipAlert(t *testing.T, records []alerts.Record) {
	t.Helper()
	var offers int
	for _, r := range records {
		if r.Rule == "counterfeit-offer" && r.State == alerts.StateClosed {
			offers++
			require.InDelta(t, 3000, r.StartMS, 1500)
			require.InDelta(t, 7000, r.EndMS, 1500)
		}
	}
	require.Equal(t, 1, offers)
}

func TestWatchPublishesToJetStream(t *testing.T) {
	srv := testutil.NATSServer(t)
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	r := runBin(t, 3*time.Minute, "", "watch", offerClip(t), "--realtime", "--nats", srv.ClientURL(),
		"--stream-id", "shop-7", "--metrics-addr", "", "--out", out)
	require.Equal(t, 0, r.code, r.stderr)
	want := readRecords(t, out)
	require.NotEmpty(t, want)
	require.Contains(t, r.stderr, "ALERT open")

	nc := testutil.Connect(t, srv.ClientURL())
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, alerts.StreamName)
	require.NoError(t, err)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"streamwatch.alerts.shop-7"}})
	require.NoError(t, err)
	for i := range want {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err, "record %d of %d", i, len(want))
		var got alerts.Record
		require.NoError(t, json.Unmarshal(msg.Data(), &got))
		require.Equal(t, want[i], got)
	}
	requireOfferClipAlert(t, want)
}

// TestWatchEmbeddedNATSAndMetrics runs watch with no NATS configured: it must
// start its own server, print its URL, serve /metrics while it runs, and the
// alerts must be readable from that server's JetStream.
func TestWatchEmbeddedNATSAndMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "watch", offerClip(t), "--realtime", "--stream-id", "emb",
		"--metrics-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NATS_URL=", "STREAMWATCH_OUTBOX_DIR="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }() // gone already when the test got that far

	natsRe := regexp.MustCompile(`embedded NATS with JetStream at (nats://\S+)`)
	metricsRe := regexp.MustCompile(`addr=http://(\S+)/metrics`)
	var natsURL, metricsAddr string
	sc := bufio.NewScanner(stderr)
	lines := make(chan string, 100)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for natsURL == "" || metricsAddr == "" {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "watch exited before printing its NATS URL and metrics address")
			if m := natsRe.FindStringSubmatch(l); m != nil {
				natsURL = m[1]
			}
			if m := metricsRe.FindStringSubmatch(l); m != nil {
				metricsAddr = m[1]
			}
		case <-ctx.Done():
			t.Fatal("no NATS URL or metrics address printed")
		}
	}
	nc := testutil.Connect(t, natsURL)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var stream jetstream.Stream
	require.Eventually(t, func() bool {
		stream, err = js.Stream(ctx, alerts.StreamName)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msg, err := cons.Next(jetstream.FetchMaxWait(60 * time.Second))
	require.NoError(t, err)
	var first alerts.Record
	require.NoError(t, json.Unmarshal(msg.Data(), &first))
	require.Equal(t, alerts.StateOpen, first.State)
	require.Equal(t, "emb", first.StreamID)
	require.Equal(t, "streamwatch.alerts.emb", msg.Subject())

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	for _, re := range []string{`streamwatch_frames_decoded_total [1-9]`, `streamwatch_frames_sampled_total [1-9]`,
		`streamwatch_frames_dropped_total \d`, `streamwatch_ocr_duration_seconds_count [1-9]`,
		`streamwatch_rule_matches_total\{rule="counterfeit-offer"\} [1-9]`,
		`streamwatch_alert_records_total\{state="open"\} [1-9]`, `streamwatch_open_segments [1-9]`,
		`streamwatch_stream_up\{stream="emb"\} 1`} {
		require.Regexp(t, "(?m)^"+re, string(body))
	}
	for range lines { // drain until exit
	}
	require.NoError(t, cmd.Wait())
}

func TestMatchCommand(t *testing.T) {
	r := runBin(t, 30*time.Second, "GUCCI bag 1:1 replica\nfresh apples\n", "match")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	var got struct {
		Text    string   `json:"text"`
		Brands  []string `json:"brands"`
		Phrases []string `json:"phrases"`
		Spans   []struct {
			Start, End int
		} `json:"spans"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.Equal(t, []string{"gucci"}, got.Brands)
	require.Equal(t, []string{"replica"}, got.Phrases)
	require.Equal(t, "GUCCI", got.Text[got.Spans[0].Start:got.Spans[0].End])
	require.JSONEq(t, `{"text":"fresh apples","brands":[],"phrases":[],"spans":[]}`, lines[1])
}

func TestRulesCheckAndVersion(t *testing.T) {
	r := runBin(t, 30*time.Second, "", "rules", "check", "../../match/default_rules.yaml")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "ok:")
	r = runBin(t, 30*time.Second, "", "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "tesseract 5.")
}

func TestEnvironmentAndConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("sample-interval: 0s\n"), 0o644))
	// The config file's bad value is reported; a flag overrides it.
	r := runBin(t, 30*time.Second, "", "replay", "x.mp4", "--config", cfg)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--sample-interval must be positive")
	require.NoError(t, os.WriteFile(cfg, []byte("frobnicate: 1\n"), 0o644))
	r = runBin(t, 30*time.Second, "", "replay", "x.mp4", "--config", cfg)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `unknown key "frobnicate"`)

	t.Setenv("STREAMWATCH_OCR_WORKERS", "0")
	r = runBin(t, 30*time.Second, "", "replay", "x.mp4")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--ocr-workers must be positive")
	r = runBin(t, 30*time.Second, "", "replay", "x.mp4", "--ocr-workers", "1")
	require.Equal(t, 1, r.code) // the flag wins; the missing file is the error now
	require.Contains(t, r.stderr, "x.mp4")
}

func TestDecodeFlag(t *testing.T) {
	r := runBin(t, 30*time.Second, "", "replay", "x.mp4", "--decode", "some")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `ingest: unknown decode mode "some": want auto, keyframes or all`)
	t.Setenv("STREAMWATCH_DECODE", "ALL")
	r = runBin(t, 30*time.Second, "", "replay", "x.mp4")
	require.Equal(t, 1, r.code) // taken; the missing file is the error now
	require.Contains(t, r.stderr, "x.mp4")
}
