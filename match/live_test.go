package match

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

const rulesV1 = `
brands: [{id: gucci, names: [Gucci]}]
phrases: [{id: replica, terms: [replica]}]
rules: [{id: v1, severity: high, require: [brand, phrase]}]
`

const rulesV2 = `
brands: [{id: prada, names: [Prada]}]
phrases: [{id: replica, terms: [replica], exclude: [replica furniture]}]
rules: [{id: v2, severity: high, require: [brand, phrase]}]
`

func TestWatchRules(t *testing.T) {
	defer goleak.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rulesV1), 0o644))
	r, err := LoadRules(path)
	require.NoError(t, err)
	live := NewLive(r, nil)

	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		WatchRules(ctx, path, 20*time.Millisecond, log, live.Swap, reload)
	}()
	brands := func() []string {
		_, m := live.Load()
		return m.Match("Gucci Prada replica").Brands
	}

	// A broken file is refused; the old rules stay.
	time.Sleep(100 * time.Millisecond) // the file as WatchRules finds it is in force
	require.NoError(t, os.WriteFile(path, []byte("brands: [\n"), 0o644))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "rules reload refused") }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"gucci"}, brands())
	require.Contains(t, logs.String(), "rules.yaml")

	// A valid file is taken up.
	require.NoError(t, os.WriteFile(path, []byte(rulesV2), 0o644))
	require.Eventually(t, func() bool { return slicesEqual(brands(), []string{"prada"}) }, 5*time.Second, 10*time.Millisecond)
	rr, _ := live.Load()
	require.Equal(t, "v2", rr.Rules[0].ID)

	// A reload on demand reads the file even if it looks unchanged.
	n := strings.Count(logs.String(), "rules reloaded")
	reload <- struct{}{}
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "rules reloaded") == n+1 }, 5*time.Second, 10*time.Millisecond)

	cancel()
	<-done
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestEvaluatorSetRules(t *testing.T) {
	v1, err := ParseRules([]byte(`
brands: [{id: gucci, names: [Gucci]}]
phrases: [{id: replica, terms: [replica]}]
rules: [{id: windowed, severity: low, require: [brand, phrase], window: 10s}]
`))
	require.NoError(t, err)
	v2, err := ParseRules([]byte(`
brands: [{id: gucci, names: [Gucci]}, {id: prada, names: [Prada]}]
phrases: [{id: copy, terms: [super copy]}]
rules: [{id: windowed, severity: low, require: [brand, phrase], window: 10s}]
`))
	require.NoError(t, err)
	e := NewEvaluator(v1, nil, "")
	require.Empty(t, e.Observe(0, []Line{{Text: "Gucci"}}))
	e.SetRules(v2, nil)
	// gucci, seen under v1, is still a brand of v2: it fills in the window.
	hits := e.Observe(1000, []Line{{Text: "super copy"}})
	require.Len(t, hits, 1)
	require.Equal(t, "windowed", hits[0].Rule)
	require.Equal(t, []string{"gucci"}, hits[0].Brands)
	// the old phrase id is gone from the history and the old term no longer matches
	require.Empty(t, e.Observe(2000, []Line{{Text: "replica"}}))
}

func TestRulesExclude(t *testing.T) {
	r, err := ParseRules([]byte(rulesV2))
	require.NoError(t, err)
	require.Equal(t, []string{"replica furniture"}, r.Phrases[0].Exclude)
	require.Equal(t, []string{"replica furniture"}, r.clone().Phrases[0].Exclude)
	for _, bad := range []string{`exclude: [""]`, `exclude: ["--"]`, `exclude: 3`} {
		_, err := ParseRules([]byte("phrases: [{id: p, terms: [x], " + bad + "}]\nrules: [{id: r, severity: low, require: [phrase]}]\n"))
		require.ErrorContains(t, err, "exclude", bad)
	}
}
