package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
)

// interrupter wraps go-astiav's IOInterrupter. libav polls the flag behind it from
// inside blocking calls (avformat_open_input, avformat_find_stream_info,
// av_read_frame), at least every 100 ms while a network read waits, and then returns
// AVERROR_EXIT. The flag is a plain int that go-astiav writes without synchronisation,
// so every write goes through mu; the first reason to interrupt wins and is what the
// blocked call's caller reports.
type interrupter struct {
	mu     sync.Mutex // held while the flag and reason change together
	ii     astiav.IOInterrupter
	reason atomic.Pointer[error] // read without mu by cause
}

func newInterrupter(ii astiav.IOInterrupter) *interrupter {
	return &interrupter{ii: ii}
}

// trigger makes libav abort the blocking call in progress, and every later one until reset.
func (i *interrupter) trigger(reason error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.reason.Load() == nil {
		i.reason.Store(&reason)
	}
	i.ii.Interrupt()
}

// reset clears the flag, unless the source was closed or refused a fetch:
// those end it for good.
func (i *interrupter) reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if cause := i.cause(); !errors.Is(cause, ErrClosed) && !isRefusal(cause) {
		i.reason.Store(nil)
		i.ii.Resume()
	}
}

// isRefusal reports whether err is a fetch the origin checks refused.
func isRefusal(err error) bool {
	return errors.Is(err, ErrOriginRefused) || errors.Is(err, ErrAddressRefused) || errors.Is(err, ErrProtocolRefused)
}

// cause is the reason of the last trigger, or nil.
func (i *interrupter) cause() error {
	if p := i.reason.Load(); p != nil {
		return *p
	}
	return nil
}

// watchOpen interrupts libav when ctx ends or the open timeout passes. The returned
// stop function ends the watcher and waits for it.
func (s *Source) watchOpen(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(s.opts.OpenTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
			s.intr.trigger(ctx.Err())
		case <-t.C:
			s.intr.trigger(fmt.Errorf("%w: no answer within %s", ErrTimeout, s.opts.OpenTimeout))
		case <-done:
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// watchRun interrupts libav when ctx ends, or when a read has been pending for longer
// than the read timeout (time spent in the handler or in pacing does not count).
func (s *Source) watchRun(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	tick := min(max(s.opts.ReadTimeout/5, 10*time.Millisecond), time.Second)
	wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				s.intr.trigger(ctx.Err())
				return
			case <-t.C:
				since := s.readSince.Load()
				if since != 0 && time.Since(time.Unix(0, since)) > s.opts.ReadTimeout {
					s.intr.trigger(fmt.Errorf("%w: no data for %s", ErrTimeout, s.opts.ReadTimeout))
					return
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// interruptErr explains a libav error: the reason of an interrupt we caused, else
// libav's own error, marked as a timeout when it is one.
func (s *Source) interruptErr(ctx context.Context, op string, err error) error {
	if cause := s.intr.cause(); cause != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(cause, ctxErr) {
			return ctxErr
		}
		return cause
	}
	if errors.Is(err, astiav.ErrEtimedout) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, op, err)
	}
	return fmt.Errorf("ingest: %s: %w", op, err)
}
