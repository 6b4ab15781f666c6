package alerts

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// RecordReader reads stored alert records through an ordered consumer:
// ephemeral, leaving no state on the server, and recreated by the client
// after a reconnect from where it stopped, so nothing stored is missed.
type RecordReader struct {
	Consumer jetstream.Consumer
	Messages jetstream.MessagesContext // Stop it when done
	// Empty says that the consumer had no stored record to deliver when
	// it was created; from then on each message's metadata says how many
	// are left (NumPending).
	Empty bool
}

// ReadRecords opens a RecordReader on stream (the alert stream) with cfg.
func ReadRecords(ctx context.Context, stream jetstream.Stream, cfg jetstream.OrderedConsumerConfig) (RecordReader, error) {
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return RecordReader{}, fmt.Errorf("alerts: consumer on %s: %w", StreamName, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return RecordReader{}, fmt.Errorf("alerts: consume %s: %w", StreamName, err)
	}
	info := cons.CachedInfo()
	return RecordReader{Consumer: cons, Messages: it, Empty: info != nil && info.NumPending == 0}, nil
}
