package validate

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

var (
	// exportRe finds the metric names the code registers (`Name: "streamwatch_…"` in *Opts).
	exportRe = regexp.MustCompile(`Name:\s*"(streamwatch_[a-z0-9_]+)"`)
	// usedRe finds metric names in a PromQL expression.
	usedRe = regexp.MustCompile(`streamwatch_[a-z_]+`)
)

// exportedMetrics returns the metric names registered by the main module's non-test Go sources.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "deploy", "testdata", "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range exportRe.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, names, "no metric found in the Go sources")
	return names
}

// pendingMetrics reads pending_metrics.txt: names the pool work will export.
func pendingMetrics(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("pending_metrics.txt")
	require.NoError(t, err)
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[line] = true
	}
	require.NoError(t, sc.Err())
	return names
}

// checkMetrics fails for each name used that the code does not export and that is not
// pending; a histogram's _bucket, _sum and _count series count as its name.
func checkMetrics(t *testing.T, what string, used map[string]bool) {
	t.Helper()
	exported := exportedMetrics(t)
	pending := pendingMetrics(t)
	for p := range pending {
		if exported[p] {
			t.Logf("%s is exported now: remove it from deploy/validate/pending_metrics.txt", p)
		}
	}
	var unknown []string
	for _, name := range sortedKeys(used) {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && exported[b] {
				base = b
			}
		}
		switch {
		case exported[base]:
		case pending[base]:
			t.Logf("%s queries %s, which the code does not export yet (pending_metrics.txt)", what, base)
		default:
			unknown = append(unknown, name)
		}
	}
	require.Empty(t, unknown, "%s queries metrics the code does not export", what)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// collectStrings applies fn to every string value in a decoded JSON document.
func collectStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case []any:
		for _, e := range v {
			collectStrings(e, fn)
		}
	case map[string]any:
		for _, e := range v {
			collectStrings(e, fn)
		}
	}
}

func TestDashboardQueriesExportedMetrics(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "streamwatch.json"))
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(src, &dash))
	require.NotEmpty(t, dash.UID)
	require.NotEmpty(t, dash.Panels)

	ids := map[int]bool{}
	for _, p := range dash.Panels {
		require.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q", p.Title)
		}
	}

	var doc any
	require.NoError(t, json.Unmarshal(src, &doc))
	used := map[string]bool{}
	collectStrings(doc, func(s string) {
		for _, m := range usedRe.FindAllString(s, -1) {
			used[m] = true
		}
	})
	require.NotEmpty(t, used)
	checkMetrics(t, "the dashboard", used)
}

func TestAlertRulesQueryExportedMetrics(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yml"))
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(src, &file))
	used := map[string]bool{}
	var alerts []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, m := range usedRe.FindAllString(r.Expr, -1) {
				used[m] = true
			}
		}
	}
	for _, want := range []string{"StreamwatchStreamStalled", "StreamwatchUnmonitoredTimeRising", "StreamwatchOCRBacklog",
		"StreamwatchOutboxFilling", "StreamwatchNoWorkers"} {
		require.True(t, slices.Contains(alerts, want), "alert %s", want)
	}
	checkMetrics(t, "the alert rules", used)
}
