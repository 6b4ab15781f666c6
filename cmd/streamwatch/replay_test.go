package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/clipgen"
	"github.com/streamwatch/streamwatch/internal/testutil"
)

// TestReplayKeepsWhatWasDecodedBeforeAnError replays a clip cut off after its
// caption (decoding fails at the cut) first in a batch, then a whole clip: the
// cut clip's alert is published all the same, the failure is one line naming
// the file, the batch goes on, and the exit status is 1.
func TestReplayKeepsWhatWasDecodedBeforeAnError(t *testing.T) {
	clip := offerClip(t)
	data, err := os.ReadFile(clip)
	require.NoError(t, err)
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp4")
	require.NoError(t, os.WriteFile(cut, data[:len(data)*85/100], 0o644)) // about 8.5 s of 10
	good := filepath.Join(dir, "good.mp4")
	require.NoError(t, os.WriteFile(good, data, 0o644))

	t.Run("alone", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alerts.jsonl")
		r := runBin(t, 3*time.Minute, "", "replay", cut, "--out", out)
		require.Equal(t, 1, r.code, r.stderr)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		require.Regexp(t, `^streamwatch: .*cut\.mp4`, lines[len(lines)-1])
		requireOfferClipAlert(t, readRecords(t, out))
	})

	t.Run("first of a batch", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alerts.jsonl")
		r := runBin(t, 3*time.Minute, "", "replay", cut, good, "--out", out)
		require.Equal(t, 1, r.code, r.stderr)
		var failures []string
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.Contains(l, "replay failed") {
				failures = append(failures, l)
			}
		}
		require.Len(t, failures, 1, r.stderr)
		require.Contains(t, failures[0], "cut.mp4")
		require.NotContains(t, failures[0], "good.mp4")
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		require.Regexp(t, `^streamwatch: .*cut\.mp4`, lines[len(lines)-1])

		byStream := map[string][]alerts.Record{}
		var order []string
		for _, rec := range readRecords(t, out) {
			if byStream[rec.StreamID] == nil {
				order = append(order, rec.StreamID)
			}
			byStream[rec.StreamID] = append(byStream[rec.StreamID], rec)
		}
		require.Len(t, order, 2, "records of both files")
		for _, id := range order {
			requireOfferClipAlert(t, byStream[id])
		}
	})

	t.Run("missing file first", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alerts.jsonl")
		r := runBin(t, 3*time.Minute, "", "replay", filepath.Join(dir, "nope.mp4"), good, "--out", out)
		require.Equal(t, 1, r.code, r.stderr)
		require.Regexp(t, `replay failed.*nope\.mp4`, r.stderr)
		requireOfferClipAlert(t, readRecords(t, out))
	})
}

// TestReplayIDsUniquePerRecording replays two different recordings under one
// name (day1/live.mp4, day2/live.mp4) and one recording under two non-ASCII
// names, with JetStream: every record is kept (on main the second live.mp4's
// and the second non-ASCII name's records had the first's ids and were
// dropped as duplicates). A second replay of the same files writes identical
// records, which JetStream then drops as the duplicates they are.
func TestReplayIDsUniquePerRecording(t *testing.T) {
	offer, err := os.ReadFile(offerClip(t))
	require.NoError(t, err)
	// Another recording with the same caption at the same time: on main its
	// alert had the same id as offerClip's.
	longer, err := os.ReadFile(testutil.Generate(t, clipgen.Clip{
		Name: "offer-longer", DurationMS: 11000, Background: "testsrc2",
		Captions: []clipgen.Caption{{Text: "GUCCI bag 1:1 replica", StartMS: 3000, EndMS: 7000, Size: 48, Box: "black@0.6"}},
	}))
	require.NoError(t, err)
	dir := t.TempDir()
	files := map[string][]byte{"day1/live.mp4": offer, "day2/live.mp4": longer, "報告.mp4": offer, "简报.mp4": offer}
	var args []string
	for _, name := range []string{"day1/live.mp4", "day2/live.mp4", "報告.mp4", "简报.mp4"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, files[name], 0o644))
		args = append(args, p)
	}
	srv := testutil.NATSServer(t)
	var outs [2]string
	for i := range outs {
		outs[i] = filepath.Join(dir, fmt.Sprintf("run%d.jsonl", i))
		r := runBin(t, 3*time.Minute, "", append([]string{"replay", "--nats", srv.ClientURL(), "--out", outs[i]}, args...)...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	first, err := os.ReadFile(outs[0])
	require.NoError(t, err)
	second, err := os.ReadFile(outs[1])
	require.NoError(t, err)
	require.Equal(t, string(first), string(second), "a replay of the same files writes the same records")

	records := readRecords(t, outs[0])
	byStream := map[string][]alerts.Record{}
	ids := map[string]bool{}
	for _, r := range records {
		byStream[r.StreamID] = append(byStream[r.StreamID], r)
		ids[r.AlertID] = true
	}
	streams := slices.Sorted(maps.Keys(byStream))
	require.Len(t, streams, 4, "one stream id per file: %v", streams)
	require.Len(t, ids, 4, "one alert per file")
	for id, rs := range byStream {
		require.Regexp(t, `^(live|u5831_u544a|u7b80_u62a5)-[0-9a-f]{16}$`, id)
		requireOfferClipAlert(t, rs)
	}

	js, err := jetstream.New(testutil.Connect(t, srv.ClientURL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, alerts.StreamName)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(len(records)), info.State.Msgs, "JetStream keeps every record of the first run, and none twice")
}
