package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OutboxOptions configure an Outbox. Zero values mean the documented defaults.
type OutboxOptions struct {
	// Dir is the outbox root. Each process keeps its records in a directory
	// of its own under it, locked while it runs, so that processes sharing
	// the root never touch each other's records. Required.
	Dir string
	// Server is the NATS server the records are meant for, kept with them:
	// an earlier run's leftovers are sent only to the same server.
	Server OutboxServer
	// MaxRecords bounds the records waiting. When it is reached, the oldest
	// waiting update record is dropped to make room; open and closed records
	// are never dropped (the bound is exceeded for them, loudly). Default 10000.
	MaxRecords int
	// Retry is the first wait after a failed send; it doubles up to 30 s.
	// Default 500ms.
	Retry time.Duration
	// DirectTimeout bounds a send tried directly while the outbox is empty.
	// Default 5s.
	DirectTimeout time.Duration
	// Logger receives the outbox's logs, with component=outbox. Default: none.
	Logger *slog.Logger
	// Dropped counts update records dropped because the outbox was full.
	Dropped prometheus.Counter
	// Waiting tracks the records in the outbox.
	Waiting prometheus.Gauge
}

// Outbox is a Sink that never loses a record while its downstream sink (NATS)
// is away: a record that cannot be sent at once is written durably to disk,
// and a drainer sends what waits, in order, when the downstream is back.
// Leftovers of earlier runs meant for the same server are sent first.
type Outbox struct {
	opts OutboxOptions
	next Sink
	log  *slog.Logger
	dir  string   // this process's directory
	own  *os.File // its lock
	// adopted are the locked directories of earlier runs whose records
	// this outbox sends.
	adopted []lockedDir

	mu      sync.Mutex
	seq     uint64
	waiting []outboxItem // in send order
	wake    chan struct{}
}

type outboxItem struct {
	path  string
	state State
}

// Names inside the outbox root and its directories.
const (
	outboxLockFile   = "lock"
	outboxServerFile = "server.json"
	outboxNewPrefix  = ".new-" // a directory being set up, not yet in use
)

// ErrOutboxDir is returned by OpenOutbox without a directory.
var ErrOutboxDir = errors.New("alerts: outbox needs a directory")

// OpenOutbox opens the outbox under the root opts.Dir in front of next: it
// makes and locks a directory of this process, takes over the unlocked
// directories of earlier runs meant for the same server (opts.Server), and
// says in one log line what it leaves for other servers. Close releases it.
func OpenOutbox(opts OutboxOptions, next Sink) (_ *Outbox, err error) {
	if opts.Dir == "" {
		return nil, ErrOutboxDir
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 10000
	}
	if opts.Retry <= 0 {
		opts.Retry = 500 * time.Millisecond
	}
	if opts.DirectTimeout <= 0 {
		opts.DirectTimeout = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("alerts: outbox: %w", err)
	}
	o := &Outbox{opts: opts, next: next, log: log.With("component", "outbox"), wake: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			o.Close()
		}
	}()
	if err := o.makeOwnDir(); err != nil {
		return nil, fmt.Errorf("alerts: outbox: %w", err)
	}
	if err := o.takeLeftovers(); err != nil {
		return nil, fmt.Errorf("alerts: outbox: %w", err)
	}
	o.gauge()
	return o, nil
}

// Dir returns this process's directory of the outbox.
func (o *Outbox) Dir() string { return o.dir }

// Close releases the outbox's directories, removing those with no records
// left; those with records stay for the next start. Call it after Run and
// Flush have returned.
func (o *Outbox) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	left := map[string]int{}
	for _, it := range o.waiting {
		left[filepath.Dir(it.path)]++
	}
	for _, d := range o.adopted {
		if left[d.dir] == 0 {
			o.removeDir(d.dir, d.lock)
		} else {
			o.closeLock(d.lock, d.dir)
		}
	}
	o.adopted = nil
	if o.own != nil {
		if left[o.dir] == 0 {
			o.removeDir(o.dir, o.own)
		} else {
			o.closeLock(o.own, o.dir)
		}
		o.own = nil
	}
}

// ErrOutboxLeft is returned by Flush when records are left on disk.
var ErrOutboxLeft = errors.New("alerts: outbox not empty")

// whereLocked lists the directories that hold waiting records. o.mu is held.
func (o *Outbox) whereLocked() string {
	var dirs []string
	seen := map[string]bool{}
	for _, it := range o.waiting {
		if d := filepath.Dir(it.path); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, ", ")
}

// Len returns the number of records waiting.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.waiting)
}

// Publish sends r directly when nothing waits, and otherwise (or when the
// direct send fails) writes it to the outbox. It returns nil once the record
// is either acknowledged downstream or safely on disk.
func (o *Outbox) Publish(ctx context.Context, r Record) error {
	o.mu.Lock()
	empty := len(o.waiting) == 0
	o.mu.Unlock()
	if empty {
		dctx, cancel := context.WithTimeout(ctx, o.opts.DirectTimeout)
		err := o.next.Publish(dctx, r)
		cancel()
		if err == nil {
			return nil
		}
		o.log.Warn("send failed; keeping the record in the outbox", "alert_id", r.AlertID, "state", r.State, "err", err)
	}
	return o.store(r)
}

func (o *Outbox) store(r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("alerts: encode record: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.waiting) >= o.opts.MaxRecords {
		if !o.dropUpdate(r) {
			return nil // r itself was the update to drop
		}
	}
	o.seq++
	path := filepath.Join(o.dir, fmt.Sprintf("%020d-%s.json", o.seq, r.State))
	if err := writeDurably(path, data); err != nil {
		return fmt.Errorf("alerts: outbox: %w", err)
	}
	o.waiting = append(o.waiting, outboxItem{path: path, state: r.State})
	o.gauge()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// dropUpdate makes room for r in a full outbox. It reports whether r is to be
// stored. o.mu is held.
func (o *Outbox) dropUpdate(r Record) bool {
	for i, it := range o.waiting {
		if it.state != StateUpdate {
			continue
		}
		o.remove(it.path, "dropped update record")
		o.waiting = append(o.waiting[:i], o.waiting[i+1:]...)
		o.dropped("outbox full: dropped the oldest waiting update record")
		return true
	}
	if r.State == StateUpdate {
		o.dropped("outbox full of open and closed records: dropped a new update record")
		return false
	}
	o.log.Error("outbox full of open and closed records: keeping this one beyond the bound", "max_records", o.opts.MaxRecords, "alert_id", r.AlertID, "state", r.State)
	return true
}

func (o *Outbox) dropped(msg string) {
	if o.opts.Dropped != nil {
		o.opts.Dropped.Inc()
	}
	o.log.Error(msg, "max_records", o.opts.MaxRecords)
}

func (o *Outbox) gauge() {
	if o.opts.Waiting != nil {
		o.opts.Waiting.Set(float64(len(o.waiting)))
	}
}

// Run drains the outbox until ctx ends: it sends waiting records in order,
// removing each once acknowledged, and backs off while sends fail.
func (o *Outbox) Run(ctx context.Context) error {
	wait := o.opts.Retry
	for {
		it, have := o.first()
		if !have {
			select {
			case <-ctx.Done():
				return nil
			case <-o.wake:
				continue
			}
		}
		err := o.send(ctx, it)
		if err == nil {
			wait = o.opts.Retry
			continue
		}
		o.log.Warn("outbox send failed; retrying", "waiting", o.Len(), "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// Flush drains what waits, giving up when ctx ends. Use it before exiting.
// What it could not send is on disk: it then returns ErrOutboxLeft, wrapped
// with the count of records and where they are.
func (o *Outbox) Flush(ctx context.Context) error {
	for {
		it, have := o.first()
		if !have {
			return nil
		}
		if err := o.send(ctx, it); err != nil {
			if ctx.Err() != nil {
				o.mu.Lock()
				defer o.mu.Unlock()
				return fmt.Errorf("%w: %d records not sent to NATS %s, left in %s for the next start connected to that server (last error: %w)",
					ErrOutboxLeft, len(o.waiting), o.opts.Server.String(), o.whereLocked(), err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(o.opts.Retry):
			}
		}
	}
}

// first returns the record to send next, if any.
func (o *Outbox) first() (outboxItem, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.waiting) == 0 {
		return outboxItem{}, false
	}
	return o.waiting[0], true
}

func (o *Outbox) send(ctx context.Context, it outboxItem) error {
	data, err := os.ReadFile(it.path)
	if err == nil {
		var r Record
		if err = json.Unmarshal(data, &r); err == nil {
			sctx, cancel := context.WithTimeout(ctx, o.opts.DirectTimeout)
			err = o.next.Publish(sctx, r)
			cancel()
			if err != nil {
				return err
			}
		}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !isDecodeError(err) {
		return err
	}
	if err != nil {
		o.log.Error("outbox: unreadable record skipped", "path", it.path, "err", err)
	}
	o.mu.Lock()
	if len(o.waiting) > 0 && o.waiting[0].path == it.path {
		o.waiting = o.waiting[1:]
	}
	o.gauge()
	o.mu.Unlock()
	o.remove(it.path, "sent record")
	return nil
}

// remove deletes a file of the outbox that is no longer needed. A file left
// behind is not lost data, but a sent record left behind would be sent again
// by the next run (deduplicated by JetStream within its window) and a full
// disk would stop the outbox, so the failure is logged.
func (o *Outbox) remove(path, what string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		o.log.Error("outbox file not removed", "file", what, "path", path, "err", err)
	}
}

func isDecodeError(err error) bool {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &ue)
}

// writeDurably writes data to path so that it survives a crash: a temporary
// file, fsync, rename, fsync of the directory.
func writeDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
