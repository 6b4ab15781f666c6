package eval

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// startupClip is what a replay's start-up cost is measured on: one second
// of a flat grey picture at the corpus's default size, without text. Its
// CPU is the process's start-up (models loaded, source opened) and hardly
// any stream work, which a clip's figure after start-up leaves out.
var startupClip = clipgen.Clip{Name: "startup-1s", DurationMS: 1000, FPS: 15, Background: "color=c=0x808080"}

// startupRuns is how many times the start-up clip is replayed per engine;
// the median counts.
const startupRuns = 3

// measureStartup returns, per engine label, the median CPU seconds of
// startupRuns replays of startupClip by bin with that engine.
func measureStartup(ctx context.Context, bin string, engines []string, dirs map[string]string) (map[string]float64, error) {
	clip, _, err := prepareClip(ctx, startupClip, dirs["clips"])
	if err != nil {
		return nil, fmt.Errorf("eval: start-up clip: %w", err)
	}
	dir := filepath.Join(dirs["streamwatch"], "startup")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, engine := range engines {
		var cpus []float64
		for i := range startupRuns {
			name := fmt.Sprintf("%s-%s-%d", startupClip.Name, engineLabel(engine), i)
			run, err := runStreamwatch(ctx, bin, engine, clip, startupClip.Name,
				filepath.Join(dir, name+".jsonl"), filepath.Join(dir, name+".log"))
			if err != nil {
				return nil, fmt.Errorf("eval: start-up replay: %w", err)
			}
			cpus = append(cpus, run.cpu.Seconds())
		}
		slices.Sort(cpus)
		out[engineLabel(engine)] = cpus[len(cpus)/2]
	}
	return out, nil
}
