package testutil

import (
	"bytes"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// SyncBuffer is a buffer that many goroutines may write at once (a logger, a
// child's stderr) while a test reads it. The zero value is ready to use.
type SyncBuffer struct {
	// Limit, when positive, is how many bytes it keeps; later writes are
	// dropped (and reported written), so a chatty writer cannot fill memory.
	Limit int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, unless the buffer holds Limit bytes already.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Limit > 0 && b.buf.Len() >= b.Limit {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StallListener accepts TCP connections on loopback and never answers; it
// holds them until t ends. It returns its host:port.
func StallListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close() // ends Accept
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close() // the peer may have gone already
		}
	})
	return ln.Addr().String()
}
