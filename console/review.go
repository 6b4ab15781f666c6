package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/echo"
)

// ReviewBucket is the JetStream key-value bucket of verdicts.
const ReviewBucket = "streamwatch_reviews"

// Verdict is what a moderator decided about an alert. Its JSON form is the
// word itself.
type Verdict string

// Verdicts a moderator can give.
const (
	VerdictConfirmed Verdict = "confirmed" // counterfeit selling, as the alert says
	VerdictDismissed Verdict = "dismissed" // a false alarm
	VerdictEscalated Verdict = "escalated" // handed on for a decision
)

// Verdicts returns every Verdict.
func Verdicts() []Verdict { return []Verdict{VerdictConfirmed, VerdictDismissed, VerdictEscalated} }

// ErrVerdict is returned by ParseVerdict for a word that names no verdict.
var ErrVerdict = errors.New("console: unknown verdict")

// ParseVerdict returns the verdict named s.
func ParseVerdict(s string) (Verdict, error) {
	if v := Verdict(s); slices.Contains(Verdicts(), v) {
		return v, nil
	}
	return "", fmt.Errorf("%w %s: want confirmed, dismissed or escalated", ErrVerdict, echo.Quote(s))
}

// Review is one verdict given on an alert: a value of ReviewBucket. Every
// verdict is a key of its own (alert id, a dot, the time in nanoseconds), so
// the history of an alert's verdicts is every key under its id, and the
// latest is the one of the highest revision.
type Review struct {
	AlertID string  `json:"alert_id"`
	Verdict Verdict `json:"verdict"`
	Note    string  `json:"note,omitempty"`
	By      string  `json:"by"`
	At      string  `json:"at"` // RFC 3339 with milliseconds, UTC
	// Revision is the bucket's revision of the entry: it orders the
	// verdicts of an alert. It is not stored in the value.
	Revision uint64 `json:"revision"`
}

// Limits of a review's free text, in characters.
const (
	MaxNote = 2000
	MaxBy   = 64
)

// Review errors; match them with errors.Is.
var (
	// ErrReview is returned for a verdict that cannot be stored as given.
	ErrReview = errors.New("console: invalid review")
	// ErrUnknownAlert is returned for a verdict on an alert id the console
	// has not seen.
	ErrUnknownAlert = errors.New("console: unknown alert")
)

// check returns an error naming what is wrong with r's moderator-given fields.
func (r *Review) check() error {
	r.Note = strings.TrimSpace(r.Note)
	r.By = strings.TrimSpace(r.By)
	switch {
	case r.By == "":
		return fmt.Errorf("%w: who gives the verdict (by) is missing", ErrReview)
	case utf8.RuneCountInString(r.By) > MaxBy:
		return fmt.Errorf("%w: by is longer than %d characters", ErrReview, MaxBy)
	case utf8.RuneCountInString(r.Note) > MaxNote:
		return fmt.Errorf("%w: the note is longer than %d characters", ErrReview, MaxNote)
	case !utf8.ValidString(r.Note) || !utf8.ValidString(r.By):
		return fmt.Errorf("%w: not UTF-8", ErrReview)
	}
	_, err := ParseVerdict(string(r.Verdict))
	return err
}

// reviews is the verdict store on a KV bucket.
type reviews struct {
	kv jetstream.KeyValue
}

// openReviews returns the review bucket, created when missing (file storage,
// one value per key: a key is never written twice).
func openReviews(ctx context.Context, js jetstream.JetStream) (reviews, error) {
	kv, err := js.KeyValue(ctx, ReviewBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ReviewBucket, History: 1,
			Storage: jetstream.FileStorage, Description: "streamwatch console: moderators' verdicts, one key per verdict"})
		if errors.Is(err, jetstream.ErrBucketExists) { // another console made it meanwhile
			kv, err = js.KeyValue(ctx, ReviewBucket)
		}
	}
	if err != nil {
		return reviews{}, fmt.Errorf("console: review bucket %s: %w", ReviewBucket, err)
	}
	return reviews{kv: kv}, nil
}

// put stores r under a new key of its alert and returns it with its revision.
func (s reviews) put(ctx context.Context, r Review, now time.Time) (Review, error) {
	r.At = alerts.FormatTime(now)
	r.Revision = 0
	data, err := json.Marshal(r)
	if err != nil {
		return Review{}, fmt.Errorf("console: encode review: %w", err)
	}
	ns := now.UnixNano()
	for {
		rev, err := s.kv.Create(ctx, r.AlertID+"."+strconv.FormatInt(ns, 10), data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			ns++ // two verdicts on one alert in the same nanosecond
			continue
		}
		if err != nil {
			return Review{}, fmt.Errorf("console: store review: %w", err)
		}
		r.Revision = rev
		return r, nil
	}
}

// decodeReview reads a bucket entry; ok is false for a deletion or a value
// that is not a review.
func decodeReview(e jetstream.KeyValueEntry) (Review, bool) {
	if e.Operation() != jetstream.KeyValuePut {
		return Review{}, false
	}
	var r Review
	if json.Unmarshal(e.Value(), &r) != nil || r.AlertID == "" || !strings.HasPrefix(e.Key(), r.AlertID+".") {
		return Review{}, false
	}
	r.Revision = e.Revision()
	return r, true
}
