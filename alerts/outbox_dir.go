package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The outbox's directories: one per process, locked while it runs, with the
// server its records are meant for; an earlier run's leftovers are taken over
// only for that server.

// OutboxServer names the NATS server that the records of an outbox directory
// are meant for, as the connection saw it (nats.Conn's ConnectedServerName,
// ConnectedServerId, ConnectedClusterName, ConnectedUrlRedacted).
type OutboxServer struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Cluster string `json:"cluster,omitempty"`
	URL     string `json:"url"`
	// Embedded is a throw-away server of the process itself: its records
	// are for nobody else, and it takes no one's leftovers.
	Embedded bool `json:"embedded,omitempty"`
}

// Same reports whether records meant for s may be sent to t: never to or from
// an embedded server; within a cluster, to any server of the same cluster;
// otherwise to the server of the same configured name; and for servers
// without a configured name (whose name is their random id), to the same URL.
func (s OutboxServer) Same(t OutboxServer) bool {
	switch {
	case s.Embedded || t.Embedded:
		return false
	case s.Cluster != "" || t.Cluster != "":
		return s.Cluster == t.Cluster
	case s.Name != s.ID || t.Name != t.ID:
		return s.Name == t.Name
	default:
		return s.URL != "" && s.URL == t.URL
	}
}

// String names the server for logs.
func (s OutboxServer) String() string {
	id := s.Name
	if s.Cluster != "" {
		id = s.Cluster + "/" + id
	}
	if s.Embedded {
		id = "embedded " + id
	}
	return id + " at " + s.URL
}

type lockedDir struct {
	dir  string
	lock *os.File
}

// makeOwnDir sets up this process's directory under a name nobody else
// looks at, locks it and records the server, then gives it its real name:
// another process never sees a directory without its lock and server.
func (o *Outbox) makeOwnDir() error {
	tmp, err := os.MkdirTemp(o.opts.Dir, outboxNewPrefix)
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(tmp, outboxLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return errors.Join(err, os.RemoveAll(tmp))
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Join(fmt.Errorf("lock %s: %w", tmp, err), lock.Close(), os.RemoveAll(tmp))
	}
	o.own = lock
	o.dir = tmp
	data, err := json.Marshal(o.opts.Server)
	if err != nil {
		return err
	}
	if err := writeDurably(filepath.Join(tmp, outboxServerFile), data); err != nil {
		return err
	}
	name := filepath.Join(o.opts.Dir, fmt.Sprintf("%s-%d-%s", time.Now().UTC().Format("20060102T150405Z"),
		os.Getpid(), strings.TrimPrefix(filepath.Base(tmp), outboxNewPrefix)))
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	o.dir = name
	return syncDir(o.opts.Dir)
}

// takeLeftovers looks at the other directories of the root: those locked
// belong to running processes; those free are an earlier run's, taken over
// when meant for this server and kept otherwise.
func (o *Outbox) takeLeftovers() error {
	entries, err := os.ReadDir(o.opts.Dir)
	if err != nil {
		return err
	}
	var kept, keptDirs, flat int
	var keptFor []string
	for _, e := range entries {
		path := filepath.Join(o.opts.Dir, e.Name())
		if !e.IsDir() {
			if _, ok := recordFile(e.Name()); ok {
				// A record of an outbox from before directories per process:
				// nobody knows which server it was meant for.
				flat++
			}
			continue
		}
		if path == o.dir {
			continue
		}
		lock, err := os.OpenFile(filepath.Join(path, outboxLockFile), os.O_RDWR, 0)
		if err != nil {
			continue // not an outbox directory, or one just removed
		}
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			o.closeLock(lock, path)
			continue // a running process's
		}
		if strings.HasPrefix(e.Name(), outboxNewPrefix) {
			// Set up by a process that died before using it: no records.
			o.removeDir(path, lock)
			continue
		}
		items, err := o.scan(path)
		if err != nil {
			o.closeLock(lock, path)
			return err
		}
		if len(items) == 0 {
			o.removeDir(path, lock)
			continue
		}
		var srv OutboxServer
		data, err := os.ReadFile(filepath.Join(path, outboxServerFile))
		if err == nil {
			err = json.Unmarshal(data, &srv)
		}
		if err != nil || !srv.Same(o.opts.Server) {
			kept += len(items)
			keptDirs++
			if err != nil {
				keptFor = append(keptFor, "unknown")
			} else {
				keptFor = append(keptFor, srv.String())
			}
			o.closeLock(lock, path)
			continue
		}
		o.adopted = append(o.adopted, lockedDir{dir: path, lock: lock})
		o.waiting = append(o.waiting, items...)
	}
	if len(o.waiting) > 0 {
		o.log.Warn("outbox holds records from an earlier run for this NATS server; sending them first",
			"records", len(o.waiting), "dirs", len(o.adopted), "server", o.opts.Server.String())
	}
	if flat > 0 {
		kept += flat
		keptFor = append(keptFor, "unknown (records in the root itself, from an older streamwatch)")
	}
	if kept > 0 {
		o.log.Warn("outbox root holds records of earlier runs meant for other NATS servers; keeping them for those",
			"records", kept, "dirs", keptDirs, "servers", strings.Join(keptFor, ", "), "root", o.opts.Dir, "server", o.opts.Server.String())
	}
	return nil
}

// scan lists the records of an earlier run's directory in send order and
// removes the temporary files of a write that a crash interrupted.
func (o *Outbox) scan(dir string) ([]outboxItem, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // zero-padded sequence numbers sort in send order
	var items []outboxItem
	for _, n := range names {
		if _, ok := recordFile(filepath.Base(n)); !ok {
			continue // not a record
		}
		base := strings.TrimSuffix(filepath.Base(n), ".json")
		_, state, _ := strings.Cut(base, "-")
		items = append(items, outboxItem{path: n, state: State(state)})
	}
	tmps, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		return nil, err
	}
	for _, t := range tmps {
		o.remove(t, "interrupted write")
	}
	return items, nil
}

// recordFile reports whether name is a record file, and its sequence number.
func recordFile(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return 0, false
	}
	seqPart, _, _ := strings.Cut(base, "-")
	s, err := strconv.ParseUint(seqPart, 10, 64)
	return s, err == nil
}

// removeDir removes a directory of the root that holds no records, then
// releases its lock.
func (o *Outbox) removeDir(dir string, lock *os.File) {
	if err := os.RemoveAll(dir); err != nil {
		o.log.Error("outbox directory not removed", "path", dir, "err", err)
	}
	o.closeLock(lock, dir)
}

// closeLock releases the lock of dir.
func (o *Outbox) closeLock(lock *os.File, dir string) {
	if err := lock.Close(); err != nil {
		o.log.Error("outbox lock not released", "path", dir, "err", err)
	}
}
