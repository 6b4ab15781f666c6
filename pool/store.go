package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
)

// Names of the JetStream objects of the pool.
const (
	// AssignStream is the work-queue stream of stream assignments.
	AssignStream = "STREAMWATCH_ASSIGN"
	// AssignPrefix prefixes the subject of an assignment: streamwatch.assign.<stream_id>.
	AssignPrefix = "streamwatch.assign."
	// ConsumerName is the durable pull consumer all workers share.
	ConsumerName = "workers"
	// StreamsBucket holds, per stream id, a StreamEntry.
	StreamsBucket = "streamwatch_streams"
	// WorkersBucket holds, per worker id, a WorkerEntry; entries expire
	// when a worker stops sending heartbeats.
	WorkersBucket = "streamwatch_workers"
	// RulesBucket holds the rules pushed to all workers, YAML under RulesKey.
	RulesBucket = "streamwatch_rules"
	// RulesKey is the key of the rules in RulesBucket.
	RulesKey = "rules"
	// StopPrefix prefixes the subject that stops a stream: streamwatch.control.stop.<stream_id>.
	StopPrefix = "streamwatch.control.stop."
)

// State is where a stream of the pool stands, as in StreamEntry.State. Its
// JSON form is the word itself.
type State string

// States of a StreamEntry.
const (
	StateQueued   State = "queued"   // submitted, waiting for a worker with room
	StateWatching State = "watching" // held by Worker
	StateFailed   State = "failed"   // the monitor ended with an error; Error says which
)

// DefaultAckWait is the lease of an assignment: a worker that sends no
// in-progress ack for this long loses it to the others.
const DefaultAckWait = 15 * time.Second

// workerTTL is how long a worker's heartbeat entry lives without renewal.
const workerTTL = 10 * time.Second

// ErrAlreadyWatched is returned by Submit for a stream id that is queued or
// watched already.
var ErrAlreadyWatched = errors.New("pool: stream already submitted")

// ErrNoStream is returned by Stop for a stream id that is neither queued nor
// watched.
var ErrNoStream = errors.New("pool: no such stream")

// Assignment is the message of a stream to watch.
type Assignment struct {
	StreamID    string    `json:"stream_id"`
	URL         string    `json:"url"`
	Channel     string    `json:"channel,omitempty"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// StreamEntry is what the streams bucket tells of a stream.
type StreamEntry struct {
	StreamID string    `json:"stream_id"`
	URL      string    `json:"url"` // redacted
	Channel  string    `json:"channel,omitempty"`
	Worker   string    `json:"worker,omitempty"`
	State    State     `json:"state"`
	Since    time.Time `json:"since"`
	Error    string    `json:"error,omitempty"`
}

// WorkerEntry is a worker's heartbeat.
type WorkerEntry struct {
	Worker    string    `json:"worker"`
	Capacity  int       `json:"capacity"`
	Load      int       `json:"load"`
	Streams   []string  `json:"streams"`
	Draining  bool      `json:"draining,omitempty"`
	Heartbeat time.Time `json:"heartbeat"`
	// RulesRevision is the revision of the pushed rules in force; 0: the
	// worker's own (--rules or built in).
	RulesRevision uint64 `json:"rules_revision,omitempty"`
	// Overloaded says why the worker fetches no new streams (over its
	// budget); empty while it takes them.
	Overloaded string `json:"overloaded,omitempty"`
	// Loads tell how each stream the worker watches keeps up.
	Loads []StreamLoad `json:"stream_loads,omitempty"`
}

// StreamLoad is how one watched stream keeps up: its effective sampling
// interval (media time between the frames read) and its lag (from decoding
// a frame to the end of its reading), in seconds.
type StreamLoad struct {
	StreamID string  `json:"stream_id"`
	Interval float64 `json:"sample_interval_seconds"`
	Lag      float64 `json:"lag_seconds"`
}

// Store is the pool's view of JetStream: the assignment stream, its
// consumer and the two buckets.
type Store struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Streams  jetstream.KeyValue
	Workers  jetstream.KeyValue
	Rules    jetstream.KeyValue
	Assign   jetstream.Stream
	consumer jetstream.Consumer
}

// Open creates or binds the pool's stream, consumer and buckets. ackWait is
// the lease of an assignment, set on the shared consumer; 0 keeps that of an
// existing consumer, or DefaultAckWait for a new one.
func Open(ctx context.Context, nc *nats.Conn, ackWait time.Duration) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Store{NC: nc, JS: js}
	s.Assign, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        AssignStream,
		Description: "streamwatch: streams waiting for or held by a worker",
		Subjects:    []string{AssignPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", AssignStream, err)
	}
	if s.consumer, err = bindConsumer(ctx, s.Assign, ackWait); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	s.Streams, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: StreamsBucket, Description: "streamwatch: state of each submitted stream", History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", StreamsBucket, err)
	}
	s.Workers, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: WorkersBucket, Description: "streamwatch: worker heartbeats", History: 1, TTL: workerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", WorkersBucket, err)
	}
	s.Rules, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: RulesBucket, Description: "streamwatch: rules in force on all workers", History: 10,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", RulesBucket, err)
	}
	return s, nil
}

// Submit queues a stream for the pool. A stream id that is queued or watched
// already is refused with ErrAlreadyWatched.
func (s *Store) Submit(ctx context.Context, a Assignment) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := alerts.ValidateStreamID(a.StreamID); err != nil {
		return err
	}
	if a.SubmittedAt.IsZero() {
		a.SubmittedAt = time.Now().UTC()
	}
	e := StreamEntry{StreamID: a.StreamID, URL: ingest.Redact(a.URL), Channel: a.Channel, State: StateQueued, Since: a.SubmittedAt}
	val, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("submit %s: %w", a.StreamID, err)
	}
	rev, err := s.Streams.Create(ctx, a.StreamID, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		old, gerr := s.entry(ctx, a.StreamID)
		if gerr != nil {
			return gerr
		}
		if old.v.State == StateQueued || old.v.State == StateWatching {
			w := ""
			if old.v.Worker != "" {
				w = " by " + old.v.Worker
			}
			return fmt.Errorf("%w: %s is %s%s since %s (stop it first)", ErrAlreadyWatched, a.StreamID, old.v.State, w, old.v.Since.Format(time.RFC3339))
		}
		rev, err = s.Streams.Update(ctx, a.StreamID, val, old.rev)
	}
	if err != nil {
		return fmt.Errorf("submit %s: %w", a.StreamID, err)
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("submit %s: %w", a.StreamID, err)
	}
	// The message id names this submission (the entry's revision), so a
	// retried publish is deduped while a stream stopped and submitted again
	// is not.
	msgID := fmt.Sprintf("%s.%d", a.StreamID, rev)
	if _, err := s.JS.Publish(ctx, AssignPrefix+a.StreamID, data, jetstream.WithMsgID(msgID)); err != nil {
		// Undo the entry, so that the submission can be retried.
		derr := s.Streams.Delete(ctx, a.StreamID, jetstream.LastRevision(rev))
		if derr != nil {
			derr = fmt.Errorf("entry left as queued (stop it to submit again): %w", derr)
		}
		return fmt.Errorf("submit %s: %w", a.StreamID, errors.Join(err, derr))
	}
	return nil
}

// Stop asks the worker that holds id to stop watching it and forgets the
// stream; a stream still queued is dropped when a worker takes it.
func (s *Store) Stop(ctx context.Context, id string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := alerts.ValidateStreamID(id); err != nil {
		return err
	}
	if _, err := s.Streams.Get(ctx, id); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("stop %s: %w", id, ErrNoStream)
	} else if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := s.Streams.Delete(ctx, id); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := s.NC.Publish(StopPrefix+id, nil); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return s.NC.FlushWithContext(ctx)
}

// PushRules stores rules (YAML, validated by the caller) for every worker to
// take up, and returns their revision.
func (s *Store) PushRules(ctx context.Context, yaml []byte) (uint64, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	rev, err := s.Rules.Put(ctx, RulesKey, yaml)
	if err != nil {
		return 0, fmt.Errorf("push rules: %w", err)
	}
	return rev, nil
}

type revEntry[T any] struct {
	v   T
	rev uint64
}

func (s *Store) entry(ctx context.Context, id string) (revEntry[StreamEntry], error) {
	kv, err := s.Streams.Get(ctx, id)
	if err != nil {
		return revEntry[StreamEntry]{}, err
	}
	var e StreamEntry
	if err := json.Unmarshal(kv.Value(), &e); err != nil {
		return revEntry[StreamEntry]{}, fmt.Errorf("entry %s: %w", id, err)
	}
	return revEntry[StreamEntry]{e, kv.Revision()}, nil
}

// Status lists the streams and the live workers, each sorted by id.
func (s *Store) Status(ctx context.Context) ([]StreamEntry, []WorkerEntry, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	streams, err := listAll[StreamEntry](ctx, s.Streams)
	if err != nil {
		return nil, nil, err
	}
	workers, err := listAll[WorkerEntry](ctx, s.Workers)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(streams, func(i, j int) bool { return streams[i].StreamID < streams[j].StreamID })
	sort.Slice(workers, func(i, j int) bool { return workers[i].Worker < workers[j].Worker })
	return streams, workers, nil
}

func listAll[T any](ctx context.Context, kv jetstream.KeyValue) ([]T, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []T
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", kv.Bucket(), k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// streamOf is the stream id of an assignment subject.
func streamOf(subject string) string { return strings.TrimPrefix(subject, AssignPrefix) }

// bounded gives ctx a deadline of 10 s if it has none: JetStream calls want one.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, 10*time.Second)
}

// bindConsumer creates or updates the shared consumer with ackWait, or with
// ackWait 0 binds an existing one as it is.
func bindConsumer(ctx context.Context, st jetstream.Stream, ackWait time.Duration) (jetstream.Consumer, error) {
	if ackWait <= 0 {
		if c, err := st.Consumer(ctx, ConsumerName); err == nil {
			return c, nil
		}
		ackWait = DefaultAckWait
	}
	return st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 100000,
		MaxDeliver:    -1,
	})
}
