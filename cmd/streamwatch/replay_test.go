package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
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
}
