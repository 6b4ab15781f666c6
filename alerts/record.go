package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
)

// SchemaVersion is the version of the alert record layout.
const SchemaVersion = 1

// State is where a record stands in the life of its segment. Its JSON form
// is the word itself ("open", "update", "closed").
type State string

// States of a segment as carried in Record.State.
const (
	StateOpen   State = "open"   // the segment is confirmed; the first record of an alert
	StateUpdate State = "update" // brands, phrases or evidence joined, or a periodic update
	StateClosed State = "closed" // the segment ended; the last record of an alert
)

// States returns every State, in the order of a segment's life.
func States() []State { return []State{StateOpen, StateUpdate, StateClosed} }

// ErrState is returned by ParseState for a word that names no state.
var ErrState = errors.New("alerts: unknown record state")

// ParseState returns the state named s ("open", "update" or "closed").
func ParseState(s string) (State, error) {
	if st := State(s); slices.Contains(States(), st) {
		return st, nil
	}
	return "", fmt.Errorf("%w %s: want open, update or closed", ErrState, echo.Quote(s))
}

// TimeFormat is RFC 3339 with milliseconds, in UTC.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Record is one alert record: the opening, an update or the closing of a
// suspect segment. See README, "Alert records".
type Record struct {
	SchemaVersion int    `json:"schema_version"`
	AlertID       string `json:"alert_id"`
	// Revision counts the records of one alert: 0 for open, then 1, 2, …
	Revision  int            `json:"revision"`
	State     State          `json:"state"`
	Rule      string         `json:"rule"`
	Severity  match.Severity `json:"severity"`
	StreamID  string         `json:"stream_id"`
	Channel   string         `json:"channel"`
	Brands    []string       `json:"brands"`
	Phrases   []string       `json:"phrases"`
	StartMS   int64          `json:"start_ms"`
	EndMS     int64          `json:"end_ms"`
	StartedAt string         `json:"started_at"`
	UpdatedAt string         `json:"updated_at"`
	Evidence  []Evidence     `json:"evidence"`
	// EvidenceFrame is the key of the stored JPEG of the frame that best
	// shows the alert (the first evidence line's), with the lines boxed.
	EvidenceFrame string `json:"evidence_frame,omitempty"`
}

// MsgID is the NATS message id of the record, for JetStream's dedupe: the
// same record published twice (a retry, a re-processed input) is stored once.
func (r Record) MsgID() string { return r.AlertID + "." + strconv.Itoa(r.Revision) }

// Subject is the NATS subject the record is published on.
func (r Record) Subject() string { return SubjectPrefix + r.StreamID }

// SubjectPrefix begins every alert subject; the stream id follows.
const SubjectPrefix = "streamwatch.alerts."

// AlertID derives the id of the segment of rule on stream that starts at
// startMS of media time, for key (the brand, when segments are per brand), so
// processing the same input again gives the same id.
func AlertID(streamID, rule string, startMS int64, key string) string {
	sum := sha256.Sum256([]byte(streamID + "\x00" + rule + "\x00" + strconv.FormatInt(startMS, 10) + "\x00" + key))
	return hex.EncodeToString(sum[:12])
}

// ErrStreamID is returned for a stream id outside [A-Za-z0-9_-]{1,128}.
var ErrStreamID = errors.New("alerts: invalid stream id")

var streamIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidateStreamID refuses ids that cannot be part of a NATS subject token.
func ValidateStreamID(id string) error {
	if !streamIDRe.MatchString(id) {
		return fmt.Errorf("%w %s: use 1 to 128 of A-Z a-z 0-9 _ -", ErrStreamID, echo.Quote(id))
	}
	return nil
}

// SanitizeStreamID makes a stream id out of a file name or URL: characters
// outside [A-Za-z0-9_-] become '-', runs of them collapse, and the result is
// cut to 128 characters. It never returns an empty string.
func SanitizeStreamID(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
			dash = r == '-'
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 128 {
		s = strings.TrimRight(s[:128], "-")
	}
	if s == "" {
		s = "stream"
	}
	return s
}

// recordingSumHex is how many hex digits of a recording's SHA-256 go into
// its stream id: 64 bits, so that different recordings do not meet.
const recordingSumHex = 16

// RecordingStreamID makes the stream id of a recording out of its name (the
// file name without its extension) and the SHA-256 of its content: the name,
// readable ("day1_live"), then '-' and the first 16 hex digits of sum. The
// same file gives the same id under any path; files that differ in a byte
// get different ids. In the name, a non-ASCII letter, mark or digit becomes 'u' and
// its code point in hex ("報告" → "u5831_u544a"), runs of other characters
// outside [A-Za-z0-9_-] become one '-', and the name is cut so that the id
// fits in 128 characters; an empty name becomes "recording".
func RecordingStreamID(name string, sum [sha256.Size]byte) string {
	var b strings.Builder
	sep := byte(0) // the separator owed before the next character, if any
	for _, r := range name {
		switch {
		case r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			if sep != 0 && b.Len() > 0 && r != '-' && r != '_' {
				b.WriteByte(sep)
			}
			sep = 0
			b.WriteRune(r)
		case r >= 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			if b.Len() > 0 {
				if sep == 0 {
					sep = '_'
				}
				b.WriteByte(sep)
			}
			fmt.Fprintf(&b, "u%04x", r)
			sep = '_'
		default:
			sep = '-'
		}
	}
	n := strings.Trim(b.String(), "-_")
	if limit := 128 - 1 - recordingSumHex; len(n) > limit {
		n = strings.TrimRight(n[:limit], "-_")
	}
	if n == "" {
		n = "recording"
	}
	return n + "-" + hex.EncodeToString(sum[:])[:recordingSumHex]
}

// FormatTime formats a wall-clock time for a record.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
