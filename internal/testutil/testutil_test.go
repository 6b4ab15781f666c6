package testutil

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestClipIsMadeOncePerName(t *testing.T) {
	args := []string{"-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1"}
	var wg sync.WaitGroup
	paths := make([]string, 4)
	for i := range paths {
		wg.Go(func() { paths[i] = Clip(t, "red.png", args...) })
	}
	wg.Wait()
	for _, p := range paths {
		require.Equal(t, paths[0], p)
	}
	st, err := os.Stat(paths[0])
	require.NoError(t, err)
	st2, err := os.Stat(Clip(t, "red.png", args...))
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime())
	require.NotEqual(t, paths[0], Clip(t, "blue.png", "-f", "lavfi", "-i", "color=c=blue:s=32x32", "-frames:v", "1"))
}

func TestSyncBufferLimit(t *testing.T) {
	b := &SyncBuffer{Limit: 8}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			n, err := b.Write([]byte("abcd"))
			require.NoError(t, err)
			require.Equal(t, 4, n)
		})
	}
	wg.Wait()
	require.Len(t, b.String(), 8)
}

func TestJetStreamAndStallListener(t *testing.T) {
	url, js := JetStream(t)
	require.True(t, strings.HasPrefix(url, "nats://127.0.0.1:"))
	require.NotNil(t, js)
	require.NotEmpty(t, StallListener(t))
}
