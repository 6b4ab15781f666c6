package match

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Live holds the rules in force and their compiled Matcher, for readers on
// many goroutines (one Load per frame is an atomic load) and a writer that
// swaps in new rules. The zero Live holds nothing: Load returns nils.
type Live struct {
	p atomic.Pointer[liveRules]
}

type liveRules struct {
	r *Rules
	m Matcher
}

// NewLive returns a Live holding r and m; m nil compiles r.
func NewLive(r *Rules, m Matcher) *Live {
	l := new(Live)
	l.Swap(r, m)
	return l
}

// Load returns the rules in force and their Matcher. Callers must not change
// the Rules.
func (l *Live) Load() (*Rules, Matcher) {
	if p := l.p.Load(); p != nil {
		return p.r, p.m
	}
	return nil, nil
}

// Swap puts r and m in force; m nil compiles r.
func (l *Live) Swap(r *Rules, m Matcher) {
	if m == nil {
		m = NewMatcher(r)
	}
	l.p.Store(&liveRules{r, m})
}

// fileStamp is what polling compares to tell that a file changed.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// WatchRules reloads the rules file at path when its modification time or
// size changes (checked every interval; default 2s) and whenever a value
// arrives on reload (the command sends SIGHUP there; nil: polling only), and
// hands each new valid version, compiled, to apply. A file that does not
// load (missing, malformed, invalid) is refused with one error log line
// naming the file and the reason, and apply is not called: the rules in
// force stay. The file as it is when WatchRules starts is taken to be in
// force already. With path "" (built-in rules) it only logs that there is
// nothing to reload. WatchRules returns when ctx ends.
func WatchRules[T any](ctx context.Context, path string, interval time.Duration, log *slog.Logger, apply func(*Rules, Matcher), reload <-chan T) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	if path == "" {
		// Built-in rules: nothing to reload, but a reload signal must not
		// go unanswered.
		log = log.With("component", "rules")
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
				log.Warn("rules reload asked for, but the rules are built in (no --rules file)")
			}
		}
	}
	log = log.With("component", "rules", "file", path)
	last, err := stampOf(path)
	if err != nil {
		log.Warn("rules file not readable; watching for it", "err", err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-reload:
			forced = true
		}
		st, err := stampOf(path)
		if err != nil {
			if forced || last != (fileStamp{}) {
				log.Error("rules reload refused; the rules in force stay", "err", err)
			}
			last = fileStamp{}
			continue
		}
		if !forced && st == last {
			continue
		}
		last = st
		r, err := LoadRules(path)
		if err != nil {
			log.Error("rules reload refused; the rules in force stay", "err", err)
			continue
		}
		start := time.Now()
		m := NewMatcher(r)
		apply(r, m)
		log.Info("rules reloaded", "summary", r.Summary(), "compile", time.Since(start).Round(time.Millisecond))
	}
}
