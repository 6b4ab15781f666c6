package ingest

import (
	"sync"

	"github.com/asticode/go-astiav"
)

// interrupter wraps go-astiav's IOInterrupter. libav polls the flag behind it from
// inside blocking calls (avformat_open_input, avformat_find_stream_info,
// av_read_frame), at least every 100 ms while a network read waits, and then returns
// AVERROR_EXIT. The flag is a plain int that go-astiav writes without synchronisation,
// so every write goes through mu; the first reason to interrupt wins and is what the
// blocked call's caller reports.
type interrupter struct {
	mu     sync.Mutex
	ii     astiav.IOInterrupter
	reason error
}

func newInterrupter(ii astiav.IOInterrupter) *interrupter {
	return &interrupter{ii: ii}
}

// trigger makes libav abort the blocking call in progress, and every later one until reset.
func (i *interrupter) trigger(reason error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.reason == nil {
		i.reason = reason
	}
	i.ii.Interrupt()
}

// reset clears the flag, unless the source was closed.
func (i *interrupter) reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.reason == ErrClosed {
		return
	}
	i.reason = nil
	i.ii.Resume()
}

// cause is the reason of the last trigger, or nil.
func (i *interrupter) cause() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.reason
}
