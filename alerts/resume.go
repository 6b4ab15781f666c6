package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Resume is what the records already published for a stream tell a watcher
// that takes the stream over (a worker after another died or handed it back,
// a restarted watch): the segments left open, and where media time stood.
type Resume struct {
	// Open holds the last record of each segment that has no closed record,
	// ordered by start.
	Open []Record
	// MediaMS is the stream's media time at Wall, estimated from the latest
	// records; media time of a live source taken over continues from there
	// plus the wall-clock time since, so that no new segment can start at
	// the media time of an earlier one (and get its alert id). Wall is zero
	// when the stream has no records.
	MediaMS int64
	Wall    time.Time
}

// RecoverWindow bounds how far before a stream's latest record Recover reads.
// A segment still open when its watcher stopped had a record within an update
// interval (and a gap) of the latest, so a generous multiple suffices.
const RecoverWindow = 15 * time.Minute

// Recover reads the records of streamID in the alert stream, from
// RecoverWindow before the latest one, and returns what is left open.
// A stream without records gives a zero Resume.
func Recover(ctx context.Context, js jetstream.JetStream, streamID string) (Resume, error) {
	if err := ValidateStreamID(streamID); err != nil {
		return Resume{}, err
	}
	st, err := js.Stream(ctx, StreamName)
	if err != nil {
		return Resume{}, fmt.Errorf("alerts: recover %s: %w", streamID, err)
	}
	subject := SubjectPrefix + streamID
	last, err := st.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Resume{}, nil
	}
	if err != nil {
		return Resume{}, fmt.Errorf("alerts: recover %s: %w", streamID, err)
	}
	from := last.Time.Add(-RecoverWindow)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &from,
	})
	if err != nil {
		return Resume{}, fmt.Errorf("alerts: recover %s: %w", streamID, err)
	}
	latest := map[string]Record{} // by alert id
	var (
		res     Resume
		offset  int64 // media time minus Unix milliseconds, the largest seen
		maxEnd  int64
		haveOff bool
	)
	for pending, seq := uint64(1), uint64(0); pending > 0 && seq < last.Sequence; {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return Resume{}, fmt.Errorf("alerts: recover %s: read records: %w", streamID, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return Resume{}, fmt.Errorf("alerts: recover %s: %w", streamID, err)
		}
		seq, pending = md.Sequence.Stream, md.NumPending
		var r Record
		if err := json.Unmarshal(msg.Data(), &r); err != nil || r.AlertID == "" {
			continue // not a record of ours: nothing to resume from it
		}
		latest[r.AlertID] = r
		maxEnd = max(maxEnd, r.EndMS)
		wall, err := time.Parse(time.RFC3339Nano, r.UpdatedAt)
		if err != nil {
			continue
		}
		// For an open or update record EndMS is the media time of the frame
		// at UpdatedAt; for a closed one it is earlier, so the estimate errs
		// low and the largest offset is the best.
		if off := r.EndMS - wall.UnixMilli(); !haveOff || off > offset {
			offset, haveOff = off, true
		}
		if wall.After(res.Wall) {
			res.Wall = wall
		}
	}
	if haveOff {
		res.MediaMS = max(offset+res.Wall.UnixMilli(), maxEnd)
	}
	for _, r := range latest {
		if r.State != StateClosed {
			res.Open = append(res.Open, r)
		}
	}
	sort.Slice(res.Open, func(i, j int) bool {
		if res.Open[i].StartMS != res.Open[j].StartMS {
			return res.Open[i].StartMS < res.Open[j].StartMS
		}
		return res.Open[i].AlertID < res.Open[j].AlertID
	})
	return res, nil
}
