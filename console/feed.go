package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/alerts"
)

// StatusSubjects are the subjects of every stream's status events.
const StatusSubjects = "streamwatch.streams.*.status"

// waitInterval is how often the console looks again for a stream or bucket
// that does not exist yet.
const waitInterval = time.Second

// readAlerts feeds the hub every record of the alert stream, from the first
// stored, until ctx ends. It waits for the stream to be created.
func (c *server) readAlerts(ctx context.Context) error {
	err := c.followAlerts(ctx)
	if ctx.Err() != nil {
		return nil // stopped: whatever failed failed for it
	}
	return err
}

func (c *server) followAlerts(ctx context.Context) error {
	stream, err := c.waitStream(ctx)
	if err != nil || stream == nil {
		return err
	}
	rr, err := alerts.ReadRecords(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return err
	}
	defer rr.Messages.Stop()
	if rr.Empty {
		c.hub.setCaughtUp()
	}
	for {
		msg, err := rr.Messages.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("console: read %s: %w", alerts.StreamName, err)
		}
		c.record(msg)
		if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 {
			c.hub.setCaughtUp()
		}
	}
}

// record hands one stored message to the hub if it is an alert record.
func (c *server) record(msg jetstream.Msg) {
	var r alerts.Record
	err := alerts.ValidateRecordJSON(msg.Data())
	if err == nil {
		err = json.Unmarshal(msg.Data(), &r)
	}
	if err != nil {
		c.log.Warn("skipping a message that is not an alert record", "subject", msg.Subject(), "err", err)
		return
	}
	c.hub.addRecord(r)
}

// waitStream returns the alert stream, waiting until it exists.
func (c *server) waitStream(ctx context.Context) (jetstream.Stream, error) {
	warned := false
	for {
		s, err := c.js.Stream(ctx, alerts.StreamName)
		switch {
		case err == nil:
			return s, nil
		case ctx.Err() != nil:
			return nil, nil //nolint:nilnil // stopped before the stream came: nothing to read
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return nil, fmt.Errorf("console: stream %s: %w", alerts.StreamName, err)
		case !warned:
			c.log.Info("no alert stream yet: waiting for the first alert", "stream", alerts.StreamName)
			c.hub.setCaughtUp() // nothing stored to catch up with
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, nil //nolint:nilnil // as above
		case <-time.After(waitInterval):
		}
	}
}

// watchReviews feeds the hub every verdict stored, then each new one, until
// ctx ends.
func (c *server) watchReviews(ctx context.Context) error {
	w, err := c.reviews.kv.WatchAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // stopped while starting: the normal stop
		}
		return fmt.Errorf("console: watch %s: %w", ReviewBucket, err)
	}
	defer func() {
		// The end of ctx stops the watch already.
		if err := w.Stop(); err != nil && !errors.Is(err, nats.ErrBadSubscription) {
			c.log.Warn("review watch not stopped cleanly", "err", err)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("console: watch %s: %w", ReviewBucket, errWatchEnded)
			}
			if e == nil {
				continue // the stored values are all delivered
			}
			if r, ok := decodeReview(e); ok {
				c.hub.addReview(r)
			} else if e.Operation() == jetstream.KeyValuePut {
				c.log.Warn("skipping a value that is not a review", "bucket", ReviewBucket, "key", e.Key())
			}
		}
	}
}

var errWatchEnded = errors.New("the watch ended")

// followStatus subscribes the hub to the streams' status events (core NATS:
// the console sees the events sent while it runs).
func (c *server) followStatus() (*nats.Subscription, error) {
	sub, err := c.nc.Subscribe(StatusSubjects, func(m *nats.Msg) {
		var st streamStatus
		if err := json.Unmarshal(m.Data, &st); err != nil || alerts.ValidateStreamID(st.StreamID) != nil ||
			m.Subject != "streamwatch.streams."+st.StreamID+".status" {
			c.log.Warn("skipping a status message that is not a stream's status", "subject", m.Subject)
			return
		}
		c.hub.setStatus(st)
	})
	if err != nil {
		return nil, fmt.Errorf("console: subscribe %s: %w", StatusSubjects, err)
	}
	return sub, nil
}

// ErrNoEvidence is returned for an evidence key that names no stored image.
var ErrNoEvidence = errors.New("console: no such evidence image")

// evidenceSource opens stored evidence images by key.
type evidenceSource interface {
	open(ctx context.Context, key string) (io.ReadCloser, error)
}

// dirEvidence reads the images of --evidence-dir; os.Root keeps keys inside it.
type dirEvidence struct{ root *os.Root }

func (d dirEvidence) open(_ context.Context, key string) (io.ReadCloser, error) {
	name := filepath.FromSlash(key)
	if !filepath.IsLocal(name) || strings.ContainsAny(key, "\\\x00") {
		return nil, fmt.Errorf("%w: %q", ErrNoEvidence, key)
	}
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoEvidence, key)
	}
	if err != nil {
		return nil, fmt.Errorf("console: evidence %s: %w", key, err)
	}
	return f, nil
}

// objectEvidence reads the images of the evidence object store bucket.
type objectEvidence struct{ js jetstream.JetStream }

func (o objectEvidence) open(ctx context.Context, key string) (io.ReadCloser, error) {
	obs, err := o.js.ObjectStore(ctx, alerts.EvidenceBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("%w: %s (no bucket %s)", ErrNoEvidence, key, alerts.EvidenceBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("console: evidence bucket %s: %w", alerts.EvidenceBucket, err)
	}
	obj, err := obs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoEvidence, key)
	}
	if err != nil {
		return nil, fmt.Errorf("console: evidence %s: %w", key, err)
	}
	return obj, nil
}
