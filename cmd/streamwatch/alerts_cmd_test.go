package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/match"
)

// alertsServer starts an embedded NATS server with the alert stream and
// returns its URL and a JetStream handle.
func alertsServer(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	url, js := testutil.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := alerts.EnsureStream(ctx, js)
	require.NoError(t, err)
	return url, js
}

var alertSeq int

// testRecord returns an open record of stream with one evidence line.
func testRecord(stream, rule string, severity match.Severity, startMS int64, text string) alerts.Record {
	alertSeq++
	at := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC).Add(time.Duration(startMS) * time.Millisecond)
	return alerts.Record{
		SchemaVersion: alerts.SchemaVersion,
		AlertID:       fmt.Sprintf("%024x", alertSeq),
		State:         alerts.StateOpen,
		Rule:          rule,
		Severity:      severity,
		StreamID:      stream,
		Brands:        []string{"gucci"},
		Phrases:       []string{"replica"},
		StartMS:       startMS,
		EndMS:         startMS + 8000,
		StartedAt:     alerts.FormatTime(at),
		UpdatedAt:     alerts.FormatTime(at.Add(8 * time.Second)),
		Evidence: []alerts.Evidence{{Evidence: match.Evidence{AtMS: startMS, Text: text, Confidence: 91.2,
			Box: match.Box{X: 150, Y: 930, W: 420, H: 52}}}},
	}
}

func publishRecords(t *testing.T, js jetstream.JetStream, rs ...alerts.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink := &alerts.JetStreamSink{JS: js}
	for _, r := range rs {
		require.NoError(t, sink.Publish(ctx, r))
	}
}

// jsonLines splits the output of --format json, checking that each line is a
// record that matches the schema.
func jsonLines(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for l := range strings.Lines(out) {
		l = strings.TrimSuffix(l, "\n")
		require.NoError(t, alerts.ValidateRecordJSON([]byte(l)), l)
		lines = append(lines, l)
	}
	return lines
}

func marshal(t *testing.T, r alerts.Record) string {
	t.Helper()
	data, err := json.Marshal(r)
	require.NoError(t, err)
	return string(data)
}

func TestAlertsFiltersByStreamAndSeverity(t *testing.T) {
	url, js := alertsServer(t)
	a := testRecord("shop-1", "counterfeit-offer", "high", 62000, "GUCCI bag 1:1 replica")
	b := testRecord("shop-1", "counterfeit-phrase", "low", 63000, "1:1 replica")
	c := testRecord("shop-2", "brand-watch", "medium", 1000, "Gucci")
	d := testRecord("shop-2", "counterfeit-offer", "high", 3725000, "古驰 高仿")
	publishRecords(t, js, a, b, c, d)

	tests := []struct {
		name string
		args []string
		want []alerts.Record
	}{
		{"everything", nil, []alerts.Record{a, b, c, d}},
		{"one stream", []string{"--stream", "shop-1"}, []alerts.Record{a, b}},
		{"a stream without records", []string{"--stream", "shop-3"}, nil},
		{"medium and above", []string{"--severity", "medium"}, []alerts.Record{a, c, d}},
		{"high only", []string{"--severity", "high"}, []alerts.Record{a, d}},
		{"low is everything", []string{"--severity", "low"}, []alerts.Record{a, b, c, d}},
		{"stream and severity", []string{"--stream", "shop-2", "--severity", "high"}, []alerts.Record{d}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, time.Minute, "", append([]string{"alerts", "--nats", url, "--format", "json"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Empty(t, r.stderr)
			var want []string
			for _, rec := range tc.want {
				want = append(want, marshal(t, rec)) // exactly as stored
			}
			require.Equal(t, want, jsonLines(t, r.stdout))
		})
	}
}

func TestAlertsTableAndJSONOutput(t *testing.T) {
	url, js := alertsServer(t)
	long := "GUCCI bag 1:1 replica — " + strings.Repeat("古驰 高仿 包包 特价 ", 20)
	a := testRecord("shop-1", "counterfeit-offer", "high", 62000, "GUCCI bag 1:1 replica")
	b := testRecord("a-much-longer-stream-id", "counterfeit-phrase", "low", 3725000, long)
	b.Brands = []string{}
	b.Evidence[0].Text = long + "\x1b[2J" // OCR text must not reach the terminal raw
	publishRecords(t, js, a, b)

	t.Setenv("COLUMNS", "160")
	r := runBin(t, time.Minute, "", "alerts", "--nats", url, "--format", "table")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Regexp(t, `^TIME \(UTC\) +STREAM +STATE +SEVERITY +RULE +BRANDS +PHRASES +MEDIA +TEXT$`, lines[0])
	require.Regexp(t, `^2026-11-28 13:01:10 +shop-1 +open +high +counterfeit-offer +gucci +replica +1m02s–1m10s +GUCCI bag 1:1 replica$`, lines[1])
	require.Regexp(t, `^2026-11-28 14:02:13 +a-much-longer-stream-id +open +low +counterfeit-phrase +- +replica +1h02m05s–1h02m13s +GUCCI bag 1:1 replica — 古驰 .*…$`, lines[2])
	require.NotContains(t, r.stdout, "\x1b")
	for _, col := range []string{"STREAM", "STATE", "SEVERITY", "RULE", "BRANDS", "PHRASES", "MEDIA", "TEXT"} {
		at := strings.Index(lines[0], col)
		for _, l := range lines[1:] { // columns start at the same place; before TEXT, one rune is one column
			rs := []rune(l)
			require.Equal(t, ' ', rs[at-1], "column %s in %q", col, l)
			require.NotEqual(t, ' ', rs[at], "column %s in %q", col, l)
		}
	}
	// The truncated line fits 160 display columns: the Chinese characters
	// count twice.
	w := 0
	for _, r := range lines[2] {
		w++
		if unicode.Is(unicode.Han, r) {
			w++
		}
	}
	require.LessOrEqual(t, w, 160)
	require.Greater(t, w, 150)

	// json, and auto on a pipe, print each record as stored.
	for _, format := range []string{"json", "auto"} {
		r := runBin(t, time.Minute, "", "alerts", "--nats", url, "--format", format)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, []string{marshal(t, a), marshal(t, b)}, jsonLines(t, r.stdout), format)
	}
}

func TestAlertsSinceExcludesOlderRecords(t *testing.T) {
	url, js := alertsServer(t)
	old1 := testRecord("shop-1", "counterfeit-offer", "high", 1000, "LV AAA wallet")
	old2 := testRecord("shop-2", "counterfeit-offer", "high", 2000, "Prada replica")
	publishRecords(t, js, old1, old2)
	mark := time.Now()
	time.Sleep(1500 * time.Millisecond)
	new1 := testRecord("shop-1", "counterfeit-offer", "high", 30000, "GUCCI 1:1")
	new2 := testRecord("shop-2", "counterfeit-phrase", "low", 40000, "高仿")
	publishRecords(t, js, new1, new2)

	since := fmt.Sprintf("%dms", time.Since(mark).Milliseconds())
	r := runBin(t, time.Minute, "", "alerts", "--nats", url, "--format", "json", "--since", since)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{marshal(t, new1), marshal(t, new2)}, jsonLines(t, r.stdout))

	r = runBin(t, time.Minute, "", "alerts", "--nats", url, "--format", "json", "--since", "1h", "--stream", "shop-2")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{marshal(t, old2), marshal(t, new2)}, jsonLines(t, r.stdout))
}

func TestAlertsFollowPrintsNewRecordsUntilInterrupted(t *testing.T) {
	url, js := alertsServer(t)
	before := testRecord("shop-1", "counterfeit-offer", "high", 1000, "GUCCI bag 1:1 replica")
	publishRecords(t, js, before)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "alerts", "--nats", url, "--follow", "--stream", "shop-1", "--severity", "medium")
	cmd.Env = append(os.Environ(), "NATS_URL=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			require.True(t, ok, "alerts exited; stderr: %s", stderr.String())
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("no record printed; stderr: %s", stderr.String())
		}
		return ""
	}
	require.Equal(t, marshal(t, before), next()) // stored before the start

	low := testRecord("shop-1", "counterfeit-phrase", "low", 5000, "replica")
	other := testRecord("shop-9", "counterfeit-offer", "high", 5000, "LV AAA")
	after := testRecord("shop-1", "counterfeit-offer", "high", 9000, "古驰 高仿")
	publishRecords(t, js, low, other, after)
	got := next()
	require.NoError(t, alerts.ValidateRecordJSON([]byte(got)))
	require.Equal(t, marshal(t, after), got) // published while it runs, filters applied

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for l := range lines {
		t.Errorf("unexpected line %q", l)
	}
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.Equal(t, 0, cmd.ProcessState.ExitCode())
}

func TestAlertsEvidenceSavesFiles(t *testing.T) {
	url, js := alertsServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "streamwatch_evidence"})
	require.NoError(t, err)
	frame := []byte("\xff\xd8\xff\xe0 frame jpeg \xff\xd9")
	crop := []byte("\xff\xd8\xff\xe0 crop jpeg \xff\xd9")
	id := fmt.Sprintf("%024x", alertSeq+1) // the id testRecord gives next
	frameKey := alerts.FrameKey(id, 1000)
	cropKey := alerts.CropKey(id, match.Evidence{AtMS: 1000, Box: match.Box{X: 150, Y: 930}})
	missingKey := alerts.CropKey(id, match.Evidence{AtMS: 2000})
	_, err = obs.PutBytes(ctx, frameKey, frame)
	require.NoError(t, err)
	_, err = obs.PutBytes(ctx, cropKey, crop)
	require.NoError(t, err)

	rec := testRecord("shop-1", "counterfeit-offer", "high", 1000, "GUCCI bag 1:1 replica")
	rec.Evidence = append(rec.Evidence, alerts.Evidence{Evidence: match.Evidence{AtMS: 2000, Text: "1:1 replica", Confidence: 80}})
	rec.EvidenceFrame = frameKey
	rec.Evidence[0].Crop = cropKey
	rec.Evidence[1].Crop = missingKey // never stored
	update := rec                     // a later record of the alert names the same images
	update.Revision, update.State = 1, alerts.StateClosed
	escape := testRecord("shop-1", "counterfeit-offer", "high", 9000, "LV AAA")
	escape.EvidenceFrame = "../outside.jpg"
	publishRecords(t, js, rec, update, escape)

	dir := filepath.Join(t.TempDir(), "evidence")
	r := runBin(t, time.Minute, "", "alerts", "--nats", url, "--format", "json", "--evidence", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{marshal(t, rec), marshal(t, update), marshal(t, escape)}, jsonLines(t, r.stdout))
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(frameKey)))
	require.NoError(t, err)
	require.Equal(t, frame, got)
	got, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(cropKey)))
	require.NoError(t, err)
	require.Equal(t, crop, got)
	require.NoFileExists(t, filepath.Join(dir, filepath.FromSlash(missingKey)))
	require.NoFileExists(t, filepath.Join(filepath.Dir(dir), "outside.jpg"))
	// One warning per missing image, though two records name it.
	require.Equal(t, 1, strings.Count(r.stderr, "warning: evidence "+missingKey+":"), r.stderr)
	require.Regexp(t, `(?m)^streamwatch: warning: evidence `+regexp.QuoteMeta(missingKey)+`: .*not found`, r.stderr)
	require.Regexp(t, `(?m)^streamwatch: warning: evidence "\.\./outside\.jpg": not a relative file name`, r.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, id))
	require.NoError(t, err)
	require.Len(t, entries, 2) // no partial files left behind
}

func TestAlertsWithoutStoredAlerts(t *testing.T) {
	srv := testutil.NATSServer(t)
	r := runBin(t, time.Minute, "", "alerts", "--nats", srv.ClientURL(), "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "no alert stored yet")
}

func TestAlertsBadCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no server", []string{"alerts"}, 2, "no NATS server: use --nats or NATS_URL"},
		{"bad severity", []string{"alerts", "--nats", "nats://127.0.0.1:1", "--severity", "critical"}, 2, `--severity "critical"`},
		{"bad format", []string{"alerts", "--nats", "nats://127.0.0.1:1", "--format", "xml"}, 2, `--format "xml"`},
		{"bad stream id", []string{"alerts", "--nats", "nats://127.0.0.1:1", "--stream", "shop 7!"}, 2, "invalid stream id"},
		{"negative since", []string{"alerts", "--nats", "nats://127.0.0.1:1", "--since", "-5m"}, 2, "--since"},
		{"bad duration", []string{"alerts", "--nats", "nats://127.0.0.1:1", "--since", "yesterday"}, 2, "since"},
		{"unknown flag", []string{"alerts", "--frob"}, 2, "frob"},
		{"argument", []string{"alerts", "--nats", "nats://127.0.0.1:1", "shop-1"}, 2, "no arguments"},
		{"unreachable server", []string{"alerts", "--nats", "nats://user:secret@127.0.0.1:1"}, 1, "connect to NATS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, time.Minute, "", tc.args...)
			require.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			require.Empty(t, r.stdout)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			require.Len(t, lines, 1, r.stderr)
			require.True(t, strings.HasPrefix(lines[0], "streamwatch: "), lines[0])
			require.Contains(t, lines[0], tc.want)
			require.NotContains(t, lines[0], "secret")
		})
	}
}
