package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/draw"
	"image/jpeg"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/ocr"
)

var (
	natsBinOnce sync.Once
	natsBin     string
	natsBinErr  error
)

// natsServerBinary builds a real nats-server from the module this project
// already depends on.
func natsServerBinary(t *testing.T) string {
	natsBinOnce.Do(func() {
		natsBin = filepath.Join(filepath.Dir(binary), "nats-server")
		out, err := exec.Command("go", "build", "-o", natsBin, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsBinErr = &exec.Error{Name: "go build nats-server: " + string(out), Err: err}
		}
	})
	require.NoError(t, natsBinErr)
	return natsBin
}

// natsProcess is a nats-server child process with JetStream on a fixed store.
type natsProcess struct {
	t     *testing.T
	port  int
	store string
	cmd   *exec.Cmd
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (n *natsProcess) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

func (n *natsProcess) start() {
	n.cmd = exec.Command(natsServerBinary(n.t), "-js", "-sd", n.store, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port))
	require.NoError(n.t, n.cmd.Start())
	require.Eventually(n.t, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 50*time.Millisecond, "nats-server did not come up")
}

func (n *natsProcess) stop() {
	if n.cmd == nil {
		return
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Logf("nats-server not signalled (exited already?): %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.cmd.Wait() // stopped by a signal: the exit status says nothing
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill() // fails only if it exited meanwhile; Wait tells
		<-done
	}
	n.cmd = nil
}

// storedRecords reads every record of stream id from JetStream, with its
// Nats-Msg-Id.
func storedRecords(t *testing.T, url, id string) ([]alerts.Record, []string) {
	t.Helper()
	nc := testutil.Connect(t, url)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, alerts.StreamName)
	require.NoError(t, err)
	subject := "streamwatch.alerts." + id
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	n := int(info.State.Subjects[subject])
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	var rs []alerts.Record
	var ids []string
	for range n {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(t, err)
		var r alerts.Record
		require.NoError(t, json.Unmarshal(msg.Data(), &r))
		rs = append(rs, r)
		ids = append(ids, msg.Headers().Get(jetstream.MsgIDHeader))
	}
	return rs, ids
}

// waitForLine waits until file holds at least n lines.
func waitForLines(t *testing.T, file string, n int, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(file)
		return bytes.Count(data, []byte("\n")) >= n
	}, within, 100*time.Millisecond)
}

// boxedCaption is a 48 px caption on a translucent black box, from s to e ms.
func boxedCaption(text string, s, e int64) clipgen.Caption {
	return clipgen.Caption{Text: text, StartMS: s, EndMS: e, Size: 48, Box: "black@0.6"}
}

// TestNATSOutageLosesNothing stops a real nats-server for 20 s while a
// stream with several counterfeit captions is watched, then starts it again
// on the same port and store: JetStream must end up with every record the
// worker produced, each once, in order.
func TestNATSOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 40 s")
	}
	dir := t.TempDir()
	clip := testutil.Generate(t, clipgen.Clip{Name: "outage", DurationMS: 32000, Background: "smptebars", FPS: 15,
		Captions: []clipgen.Caption{
			boxedCaption("GUCCI bag 1:1 replica", 1000, 6000),
			boxedCaption("PRADA wallet super copy", 11000, 16000),
			boxedCaption("ROLEX watch AAA quality", 20000, 25000),
			boxedCaption("DIOR scarf replica", 27000, 31000),
		}})

	srv := &natsProcess{t: t, port: freePort(t), store: filepath.Join(dir, "store")}
	srv.start()
	defer srv.stop()

	out := filepath.Join(dir, "alerts.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	watch := exec.CommandContext(ctx, binary, "watch", clip, "--realtime", "--nats", srv.url(), "--stream-id", "outage",
		"--metrics-addr", "", "--out", out, "--outbox-dir", filepath.Join(dir, "outbox"), "--evidence-dir", filepath.Join(dir, "evidence"))
	var stderr bytes.Buffer
	watch.Stderr = &stderr
	require.NoError(t, watch.Start())

	waitForLines(t, out, 1, time.Minute) // the first caption's open record is out
	srv.stop()
	time.Sleep(20 * time.Second)
	srv.start()
	require.NoError(t, watch.Wait(), stderr.String())

	want := readRecords(t, out)
	got, ids := storedRecords(t, srv.url(), "outage")
	require.GreaterOrEqual(t, len(want), 8, "4 captions, open and closed each")
	require.Equal(t, want, got, "every record once, in order")
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "record %s twice", id)
		seen[id] = true
	}
	require.Contains(t, stderr.String(), "keeping the record in the outbox", "the outage was felt")
	for _, r := range got {
		require.NoError(t, alerts.ValidateRecordJSON(mustJSON(t, r)))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

// TestKilledWorkerRepublishesWithoutDuplicates kills a worker with SIGKILL in
// the middle of a segment and runs it again on the same input: what it
// publishes again is deduped by Nats-Msg-Id.
func TestKilledWorkerRepublishesWithoutDuplicates(t *testing.T) {
	srv := testutil.NATSServer(t)
	dir := t.TempDir()
	clip := testutil.Generate(t, clipgen.Clip{Name: "kill", DurationMS: 14000, Background: "smptebars", FPS: 15,
		Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: 1000, EndMS: 12000, Size: 48, Box: "black@0.6"}}})
	args := func(out string) []string {
		return []string{"watch", clip, "--realtime", "--nats", srv.ClientURL(), "--stream-id", "kill", "--metrics-addr", "",
			"--out", out, "--outbox-dir", filepath.Join(dir, "outbox")}
	}
	first := filepath.Join(dir, "first.jsonl")
	cmd := exec.Command(binary, args(first)...)
	cmd.Env = append(os.Environ(), "NATS_URL=")
	require.NoError(t, cmd.Start())
	waitForLines(t, first, 1, time.Minute) // open is out; the segment goes on
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait() // "signal: killed", as meant
	before, _ := storedRecords(t, srv.ClientURL(), "kill")
	require.NotEmpty(t, before)
	require.Equal(t, alerts.StateOpen, before[0].State)

	second := filepath.Join(dir, "second.jsonl")
	r := runBin(t, 2*time.Minute, "", args(second)...)
	require.Equal(t, 0, r.code, r.stderr)
	rerun := readRecords(t, second)
	got, ids := storedRecords(t, srv.ClientURL(), "kill")
	require.Len(t, got, len(rerun), "the re-published records were deduped")
	seen := map[string]bool{}
	for i, id := range ids {
		require.False(t, seen[id], "record %s twice", id)
		seen[id] = true
		require.Equal(t, rerun[i].MsgID(), id)
	}
	require.Equal(t, before[0].AlertID, got[0].AlertID, "the same segment, the same id")
}

// TestEvidenceInObjectStore checks that each alert's evidence can be fetched
// from the object store, decodes as a JPEG, and that OCR of the stored crop
// finds the matched term.
func TestEvidenceInObjectStore(t *testing.T) {
	srv := testutil.NATSServer(t)
	r := runBin(t, 3*time.Minute, "", "replay", offerClip(t), "--nats", srv.ClientURL(), "--stream-id", "ev")
	require.Equal(t, 0, r.code, r.stderr)
	recs, _ := storedRecords(t, srv.ClientURL(), "ev")
	require.NotEmpty(t, recs)

	nc := testutil.Connect(t, srv.ClientURL())
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := js.ObjectStore(ctx, alerts.EvidenceBucket)
	require.NoError(t, err)
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	require.NoError(t, err)
	defer pool.Close()
	for _, rec := range recs {
		require.NotEmpty(t, rec.EvidenceFrame, "record %s.%d", rec.AlertID, rec.Revision)
		data, err := store.GetBytes(ctx, rec.EvidenceFrame)
		require.NoError(t, err)
		_, err = jpeg.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		require.NotEmpty(t, rec.Evidence)
		crop, err := store.GetBytes(ctx, rec.Evidence[0].Crop)
		require.NoError(t, err)
		img, err := jpeg.Decode(bytes.NewReader(crop))
		require.NoError(t, err)
		gray := image.NewGray(img.Bounds())
		draw.Draw(gray, gray.Rect, img, img.Bounds().Min, draw.Src)
		lines, err := pool.Read(ctx, gray, []image.Rectangle{gray.Rect})
		require.NoError(t, err)
		var text []string
		for _, l := range lines {
			text = append(text, l.Text)
		}
		require.Contains(t, strings.ToLower(strings.Join(text, " ")), "replica", "OCR of the stored crop")
	}
}
