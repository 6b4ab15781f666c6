package lines

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// gatedEngine is an engine of one client that reads a call only when the
// test lets it (next), and logs which image each call read, in order.
type gatedEngine struct {
	next    chan struct{}
	entered atomic.Int64 // calls begun
	mu      sync.Mutex
	log     []string // the name of the image read, once per line
	name    map[*image.Gray]string
}

func (e *gatedEngine) Name() string { return "gated" }
func (e *gatedEngine) Size() int    { return 1 }

func (e *gatedEngine) ReadLines(ctx context.Context, img *image.Gray, crops []Crop) ([]Reading, error) {
	e.entered.Add(1)
	select {
	case <-e.next:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Reading, len(crops))
	for i, c := range crops {
		e.log = append(e.log, e.name[img])
		out[i] = Reading{Box: c.Box, Text: e.name[img]}
	}
	return out, nil
}

func lineCrops(n int) []Crop {
	out := make([]Crop, n)
	for i := range out {
		out[i] = Crop{Box: image.Rect(0, 10*i, 100, 10*i+10)}
	}
	return out
}

// TestSchedulerTakesTurns: a stream with 20 lines to read and one with 1,
// sharing one client: the second is read after at most one turn of the
// first, and every line of both comes back, in order.
func TestSchedulerTakesTurns(t *testing.T) {
	tests := []struct {
		name       string
		perTurn    int
		busyBefore int // busy lines read before the plain one, at most
	}{
		{name: "default turns", perTurn: 0, busyBefore: DefaultLinesPerTurn},
		{name: "one line a turn", perTurn: 1, busyBefore: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			busyImg, plainImg := image.NewGray(image.Rect(0, 0, 1, 1)), image.NewGray(image.Rect(0, 0, 1, 1))
			e := &gatedEngine{next: make(chan struct{}), name: map[*image.Gray]string{busyImg: "busy", plainImg: "plain"}}
			s := NewScheduler(e, SchedulerOptions{LinesPerTurn: tc.perTurn})
			defer s.Close()
			busy, plain := s.Stream(), s.Stream()
			defer busy.Close()
			defer plain.Close()
			ctx := context.Background()
			var wg sync.WaitGroup
			var busyOut, plainOut []Reading
			wg.Go(func() {
				var err error
				busyOut, err = busy.ReadLines(ctx, busyImg, lineCrops(20))
				require.NoError(t, err)
			})
			// The busy stream's first turn has begun before the plain one's lines come.
			require.Eventually(t, func() bool { return e.entered.Load() == 1 }, 5e9, 1e6)
			wg.Go(func() {
				var err error
				plainOut, err = plain.ReadLines(ctx, plainImg, lineCrops(1))
				require.NoError(t, err)
			})
			require.Eventually(t, func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(plain.queue) == 1
			}, 5e9, 1e6)
			stop := make(chan struct{})
			fed := make(chan struct{})
			go func() {
				defer close(fed)
				for {
					select {
					case e.next <- struct{}{}:
					case <-stop:
						return
					}
				}
			}()
			wg.Wait()
			close(stop)
			<-fed
			require.Len(t, busyOut, 20)
			for i, r := range busyOut {
				require.Equal(t, lineCrops(20)[i].Box, r.Box, "in the order of the crops")
			}
			require.Len(t, plainOut, 1)
			before := 0
			for _, name := range e.log {
				if name == "plain" {
					break
				}
				before++
			}
			require.LessOrEqual(t, before, tc.busyBefore, "lines read: %v", e.log)
		})
	}
}

// TestSchedulerCloseFailsWaitingLines: lines still waiting when the stream
// or the scheduler closes come back with ErrSchedulerClosed.
func TestSchedulerCloseFailsWaitingLines(t *testing.T) {
	e := &gatedEngine{next: make(chan struct{}), name: map[*image.Gray]string{}}
	s := NewScheduler(e, SchedulerOptions{})
	st := s.Stream()
	errs := make(chan error, 1)
	go func() {
		_, err := st.ReadLines(context.Background(), image.NewGray(image.Rect(0, 0, 1, 1)), lineCrops(12))
		errs <- err
	}()
	require.Eventually(t, func() bool { return s.Waiting() > 0 }, 5e9, 1e6)
	st.Close()
	close(e.next) // the turn in progress finishes
	require.ErrorIs(t, <-errs, ErrSchedulerClosed)
	s.Close()
	_, err := s.Stream().ReadLines(context.Background(), image.NewGray(image.Rect(0, 0, 1, 1)), lineCrops(1))
	require.ErrorIs(t, err, ErrSchedulerClosed)
}

// TestSchedulerReadsFramesInTheOrderTheyCame: frames of several streams
// waiting for one client are read oldest first, whatever the order of the
// streams: a caption's frame does not wait for every other stream's turn.
func TestSchedulerReadsFramesInTheOrderTheyCame(t *testing.T) {
	imgs := map[*image.Gray]string{}
	names := []string{"first", "second", "third", "fourth"}
	frames := make([]*image.Gray, len(names))
	for i, n := range names {
		frames[i] = image.NewGray(image.Rect(0, 0, 1, 1))
		imgs[frames[i]] = n
	}
	blocker := image.NewGray(image.Rect(0, 0, 1, 1))
	imgs[blocker] = "blocker"
	e := &gatedEngine{next: make(chan struct{}), name: imgs}
	s := NewScheduler(e, SchedulerOptions{})
	defer s.Close()
	// Streams made in the reverse of the order their frames come in.
	streams := make([]*StreamEngine, len(names))
	for i := len(names) - 1; i >= 0; i-- {
		streams[i] = s.Stream()
		defer streams[i].Close()
	}
	other := s.Stream()
	defer other.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := other.ReadLines(ctx, blocker, lineCrops(1))
		require.NoError(t, err)
	})
	require.Eventually(t, func() bool { return e.entered.Load() == 1 }, 5e9, 1e6)
	for i := range names {
		wg.Go(func() {
			_, err := streams[i].ReadLines(ctx, frames[i], lineCrops(1))
			require.NoError(t, err)
		})
		require.Eventually(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(streams[i].queue) == 1
		}, 5e9, 1e6)
	}
	for range len(names) + 1 {
		e.next <- struct{}{}
	}
	wg.Wait()
	require.Equal(t, append([]string{"blocker"}, names...), e.log)
}
