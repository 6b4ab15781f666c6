package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/browsertest"
	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// demoClip is the bundled demo clip and its ground truth.
func demoClip(t *testing.T) (string, clipgen.Truth) {
	t.Helper()
	clip, err := filepath.Abs("../../testdata/demo.mp4")
	require.NoError(t, err)
	data, err := os.ReadFile(clipgen.TruthPath(clip))
	require.NoError(t, err)
	var truth clipgen.Truth
	require.NoError(t, json.Unmarshal(data, &truth))
	return clip, truth
}

// attrURL finds the values of src and href attributes.
var attrURL = regexp.MustCompile(`(?i)\s(?:src|href|xlink:href)\s*=\s*"([^"]*)"`)

// reportAlert is what the browser finds of one alert in the report.
type reportAlert struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Frame  int    `json:"frame"` // naturalWidth of the evidence frame; 0 when not loaded
	Crops  []int  `json:"crops"` // naturalWidth of each line's crop
	Marked int    `json:"marked"`
}

// TestReplayReportOfTheDemoClip replays the demo clip with --report: the
// report is one file with no external URL in it, and in Chromium it fetches
// nothing but itself, draws a timeline with the three counterfeit segments
// and shows each of their alerts with its evidence frame and crops loaded.
func TestReplayReportOfTheDemoClip(t *testing.T) {
	clip, truth := demoClip(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	r := runBin(t, 3*time.Minute, "", "replay", clip, "--report", page, "--out", out)
	require.Equal(t, 0, r.code, r.stderr)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "one file, no temporary left: %v", entries)
	data, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(data)
	for _, m := range attrURL.FindAllStringSubmatch(html, -1) {
		u := m[1]
		require.True(t, strings.HasPrefix(u, "data:image/jpeg;base64,") || strings.HasPrefix(u, "#"), "external URL in the report: %.80s", u)
	}
	// Every src and href is a data: URI or an anchor (no "//host/" either);
	// no URL anywhere else (a CSS url(), an @import), base64 aside.
	for _, external := range []string{"http://", "https://", "url(", "@import"} {
		require.False(t, strings.Contains(html, external), "%q in the report", external)
	}

	// The alerts of the counterfeit captions, one each, from the records.
	var want []string
	for _, c := range truth.Captions {
		if !c.Counterfeit {
			continue
		}
		var ids []string
		for _, rec := range readRecords(t, out) {
			if rec.State == alerts.StateClosed && rec.StartMS < c.EndMS && rec.EndMS >= c.StartMS {
				ids = append(ids, rec.AlertID)
			}
		}
		require.Len(t, ids, 1, "one alert for %q", c.Text)
		want = append(want, "alert-"+ids[0])
	}
	require.Len(t, want, 3)

	tab := browsertest.New(t).Tab(t)
	fileURL := "file://" + page
	require.NoError(t, tab.Do(30*time.Second, chromedp.Navigate(fileURL)))
	// Images decode after the load event only when lazy: wait for all.
	_, err = browsertest.Run(tab, 30*time.Second, chromedp.Poll[bool](`[...document.images].every(i => i.complete)`))
	require.NoError(t, err)
	got, err := browsertest.Run(tab, 30*time.Second, chromedp.Evaluate[[]reportAlert](`[...document.querySelectorAll("div.alert")].map(a => ({
		id: a.id, title: a.querySelector("h3").textContent,
		frame: a.querySelector("img.frame") ? a.querySelector("img.frame").naturalWidth : 0,
		crops: [...a.querySelectorAll("img.crop")].map(i => i.naturalWidth),
		marked: a.querySelectorAll("mark").length}))`))
	require.NoError(t, err)
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
		require.Positive(t, a.Frame, "evidence frame of %s loaded", a.Title)
		require.NotEmpty(t, a.Crops, a.Title)
		for _, w := range a.Crops {
			require.Positive(t, w, "crop of %s loaded", a.Title)
		}
		require.Positive(t, a.Marked, "matched spans highlighted in %s", a.Title)
	}
	require.Equal(t, want, ids, "the three counterfeit segments, in order")
	segments, err := browsertest.Run(tab, 30*time.Second, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("svg.timeline a")].map(a => a.getAttribute("href").slice(1))`))
	require.NoError(t, err)
	require.Equal(t, want, segments, "the timeline links each segment to its alert")

	reqs := tab.Requests()
	require.Equal(t, fileURL, reqs[0])
	for _, u := range reqs {
		require.True(t, u == fileURL || strings.HasPrefix(u, "data:"), "the report fetched %.80s", u)
	}
	tab.Screenshot(t, dir, "report")
}
