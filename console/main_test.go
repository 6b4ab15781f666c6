package console

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.MainWith(m, testutil.MainOptions{Leak: []goleak.Option{
		// nats.go v1.55.0: ObjectStore.Put (the tests store evidence as
		// watch does) starts this goroutine and may clear its channel
		// before it reads it (jetstream/object.go cleanupReplySub), so it
		// waits on a nil channel for good. Not the console's.
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"),
	}})
}
