package testutil

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/embednats"
)

// NATSServer starts an embedded NATS server with JetStream on a free port,
// its store in a directory of t; it is shut down, and waited for, when t ends.
func NATSServer(t testing.TB) *server.Server {
	t.Helper()
	srv, err := embednats.Start(t.TempDir(), 0)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// Connect connects to the NATS server at url; the connection closes when t
// ends.
func Connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// JetStream starts an embedded server (NATSServer), connects to it and
// returns its URL and a JetStream handle.
func JetStream(t testing.TB) (string, jetstream.JetStream) {
	t.Helper()
	url := NATSServer(t).ClientURL()
	js, err := jetstream.New(Connect(t, url))
	require.NoError(t, err)
	return url, js
}
