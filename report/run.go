package report

import (
	"sync"
	"time"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/match"
)

// Span is a stretch of media time, in ms from the stream's start.
type Span struct{ FromMS, ToMS int64 }

// Tool is what made the report: the binary's version and how it was run.
type Tool struct {
	Version string   // "streamwatch v1.2.0 (go1.26, tesseract 5.3.0)"
	Command string   // the command line, its secrets redacted
	Flags   []string // the flags given ("--min-hits=2"), on the command line, in the environment or --config
}

// Rules names the rules a run matched with.
type Rules struct {
	Source  string // the rules file, or "built-in"
	SHA256  string // of the rules file's bytes (of the built-in YAML)
	Summary string // match.Rules.Summary
}

// File is one input of a run and what its replay gave. Its fields are set
// by the Run that made it.
type File struct {
	Path     string
	StreamID string
	Size     int64  // bytes; -1 when not a regular file
	SHA256   string // hex; empty when not a regular file
	// Duration is the input's length as its container tells it; 0 when unknown.
	Duration time.Duration
	MediaMS  int64         // media time of the last frame read
	Elapsed  time.Duration // wall-clock time its replay took
	// Unwatched are the spans of media time nobody watched: frames skipped,
	// gaps, and what follows the last frame read of an input that failed.
	Unwatched []Span
	Err       string // why its replay failed; empty when it did not
	Alerts    []alerts.Record

	started time.Time // when its replay began; zero when it has not
}

// Run follows the input files of one replay, one after the other: their
// progress (on Line, when set), their figures, and through Collector their
// alerts. Its methods are safe for concurrent use.
type Run struct {
	Tool      Tool
	Rules     Rules
	Matcher   match.Matcher // finds the spans the report highlights; nil: none
	Collector *Collector
	// Line, when set, shows the progress of the file being replayed.
	Line *Line
	// Started is when the run began (its wall-clock, for the report).
	Started time.Time

	mu    sync.Mutex
	files []*File
	cur   int
	now   func() time.Time
}

// NewRun returns a run of the given files, with an empty Collector; Tool,
// Rules, Matcher and Line are the caller's to set before the first Begin.
func NewRun(paths []string) *Run {
	r := &Run{Collector: &Collector{}, now: time.Now, cur: -1}
	r.Started = r.now()
	for _, p := range paths {
		r.files = append(r.files, &File{Path: p, Size: -1})
	}
	return r
}

// Files returns the files of the run.
func (r *Run) Files() []*File {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*File(nil), r.files...)
}

// Begin starts the replay of file i, under stream id, with its size and
// SHA-256 (size -1 and sum empty when it is no regular file).
func (r *Run) Begin(i int, stream string, size int64, sum string) {
	r.mu.Lock()
	f := r.files[i]
	f.StreamID, f.Size, f.SHA256, f.started = stream, size, sum, r.now()
	r.cur = i
	r.mu.Unlock()
	r.redraw(true)
}

// Progress notes that file i has been read up to mediaMS of its duration
// (0: unknown), with unwatched, if not empty, just before it.
func (r *Run) Progress(i int, mediaMS int64, duration time.Duration, unwatched Span) {
	r.mu.Lock()
	f := r.files[i]
	f.MediaMS = max(f.MediaMS, mediaMS)
	f.Duration = duration
	if unwatched.ToMS > unwatched.FromMS {
		f.Unwatched = append(f.Unwatched, unwatched)
	}
	r.mu.Unlock()
	r.redraw(false)
}

// Gap notes an unwatched span of file i told by its source (a reconnect).
func (r *Run) Gap(i int, s Span) {
	if s.ToMS <= s.FromMS {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[i].Unwatched = append(r.files[i].Unwatched, s)
}

// End ends the replay of file i, failed with err when not nil: what
// follows its last frame read is then unwatched.
func (r *Run) End(i int, err error) {
	r.mu.Lock()
	f := r.files[i]
	if !f.started.IsZero() {
		f.Elapsed = r.now().Sub(f.started)
	}
	if err != nil {
		f.Err = err.Error()
		if end := f.Duration.Milliseconds(); end > f.MediaMS {
			f.Unwatched = append(f.Unwatched, Span{FromMS: f.MediaMS, ToMS: end})
		}
	}
	f.Alerts = r.Collector.Alerts(f.StreamID)
	r.mu.Unlock()
	if r.Line != nil {
		r.Line.Clear()
	}
}

// redraw shows the progress of the current file on Line; at most ten times
// a second unless now.
func (r *Run) redraw(now bool) {
	if r.Line == nil {
		return
	}
	r.mu.Lock()
	if r.cur < 0 {
		r.mu.Unlock()
		return
	}
	f := *r.files[r.cur]
	n, total := r.cur+1, len(r.files)
	at := r.now()
	r.mu.Unlock()
	r.Line.Show(progressText(n, total, &f, at), now)
}
