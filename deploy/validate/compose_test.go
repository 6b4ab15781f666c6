package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestComposeFiles checks what can be checked of deploy/compose.yaml without a Docker
// engine: it parses, has the services the pool needs, and every file it mounts or
// builds from exists.
func TestComposeFiles(t *testing.T) {
	dir := filepath.Join(repoRoot, "deploy")
	src, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	require.NoError(t, err)
	var file struct {
		Services map[string]struct {
			Build *struct {
				Context    string `json:"context"`
				Dockerfile string `json:"dockerfile"`
			} `json:"build"`
			Image   string   `json:"image"`
			Command []string `json:"command"`
			Volumes []string `json:"volumes"`
		} `json:"services"`
		Volumes map[string]any `json:"volumes"`
	}
	require.NoError(t, yaml.Unmarshal(src, &file))

	for _, name := range []string{"nats", "worker-1", "worker-2", "rules-push", "prometheus", "grafana"} {
		require.Contains(t, file.Services, name)
	}
	require.Contains(t, strings.Join(file.Services["nats"].Command, " "), "-js -sd /data")
	for _, w := range []string{"worker-1", "worker-2"} {
		s := file.Services[w]
		require.NotNil(t, s.Build, w)
		require.FileExists(t, filepath.Join(dir, s.Build.Context, s.Build.Dockerfile))
		require.Equal(t, "worker", s.Command[0], w)
	}

	for name, s := range file.Services {
		for _, v := range s.Volumes {
			host, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(host, ".") || strings.HasPrefix(host, "/") {
				_, err := os.Stat(filepath.Join(dir, host))
				require.NoError(t, err, "service %s mounts %s", name, host)
			} else {
				require.Contains(t, file.Volumes, host, "service %s: named volume %s is declared", name, host)
			}
		}
	}
}
