package frames

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func item(seq int64) Sampled { return Sampled{Seq: seq, MediaMS: seq * 1000} }

func counterValue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

func TestQueueDropOldest(t *testing.T) {
	reg := prometheus.NewRegistry()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_dropped_total", Help: "test"})
	reg.MustRegister(dropped)

	q := NewQueue(3, DropOldest, dropped)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // DropOldest ignores ctx: Put never waits
	start := time.Now()
	for i := range int64(10) {
		require.NoError(t, q.Put(ctx, item(i)))
	}
	require.Less(t, time.Since(start), 100*time.Millisecond)
	require.Equal(t, int64(7), q.Dropped())
	require.Equal(t, float64(7), counterValue(t, reg))
	require.Equal(t, 3, q.Len())

	q.Close()
	var got []int64
	for {
		s, ok := q.Get(context.Background())
		if !ok {
			break
		}
		got = append(got, s.Seq)
	}
	require.Equal(t, []int64{7, 8, 9}, got, "the newest items survive, in order")
}

func TestQueueBlockLosesNothing(t *testing.T) {
	q := NewQueue(2, Block, nil)
	const n = 500
	var wg sync.WaitGroup
	wg.Go(func() {
		defer q.Close()
		for i := range int64(n) {
			if err := q.Put(context.Background(), item(i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var got []int64
	for {
		s, ok := q.Get(context.Background())
		if !ok {
			break
		}
		got = append(got, s.Seq)
	}
	wg.Wait()
	require.Len(t, got, n)
	for i, seq := range got {
		require.Equal(t, int64(i), seq)
	}
	require.Zero(t, q.Dropped())
}

func TestQueueBlockPutWaits(t *testing.T) {
	q := NewQueue(1, Block, nil)
	require.NoError(t, q.Put(context.Background(), item(0)))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, q.Put(ctx, item(1)), context.DeadlineExceeded)

	done := make(chan error, 1)
	go func() { done <- q.Put(context.Background(), item(2)) }()
	select {
	case err := <-done:
		t.Fatalf("Put did not wait for room (returned %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	s, ok := q.Get(context.Background())
	require.True(t, ok)
	require.Equal(t, int64(0), s.Seq)
	require.NoError(t, <-done)
	s, ok = q.Get(context.Background())
	require.True(t, ok)
	require.Equal(t, int64(2), s.Seq)
}

func TestQueueClose(t *testing.T) {
	for _, mode := range []QueueMode{DropOldest, Block} {
		t.Run(map[QueueMode]string{DropOldest: "DropOldest", Block: "Block"}[mode], func(t *testing.T) {
			q := NewQueue(2, mode, nil)

			// Close wakes a blocked Get.
			got := make(chan bool, 1)
			go func() {
				_, ok := q.Get(context.Background())
				got <- ok
			}()
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, q.Put(context.Background(), item(1)))
			require.True(t, <-got)

			require.NoError(t, q.Put(context.Background(), item(2)))
			require.NoError(t, q.Put(context.Background(), item(3)))
			if mode == Block {
				// Close wakes a blocked Put, which then fails.
				put := make(chan error, 1)
				go func() { put <- q.Put(context.Background(), item(4)) }()
				time.Sleep(20 * time.Millisecond)
				q.Close()
				require.ErrorIs(t, <-put, ErrClosed)
			} else {
				q.Close()
			}
			q.Close() // twice is fine
			require.ErrorIs(t, q.Put(context.Background(), item(5)), ErrClosed)

			// What was queued is still delivered, then Get reports the end.
			for _, want := range []int64{2, 3} {
				s, ok := q.Get(context.Background())
				require.True(t, ok)
				require.Equal(t, want, s.Seq)
			}
			_, ok := q.Get(context.Background())
			require.False(t, ok)
		})
	}
}

func TestQueueGetContext(t *testing.T) {
	q := NewQueue(1, DropOldest, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, ok := q.Get(ctx)
	require.False(t, ok)

	require.NoError(t, q.Put(context.Background(), item(1)))
	_, ok = q.Get(ctx)
	require.False(t, ok, "a done context wins over a queued item")
	require.Equal(t, 1, q.Len())
}

func TestQueueConcurrent(t *testing.T) {
	for _, mode := range []QueueMode{DropOldest, Block} {
		q := NewQueue(4, mode, nil)
		const producers, perProducer = 4, 300
		var prod, cons sync.WaitGroup
		var mu sync.Mutex
		received := 0
		for range 3 {
			cons.Go(func() {
				for {
					if _, ok := q.Get(context.Background()); !ok {
						return
					}
					mu.Lock()
					received++
					mu.Unlock()
				}
			})
		}
		for p := range producers {
			prod.Go(func() {
				for i := range perProducer {
					require.NoError(t, q.Put(context.Background(), item(int64(p*perProducer+i))))
				}
			})
		}
		prod.Wait()
		q.Close()
		cons.Wait()
		require.Equal(t, producers*perProducer, received+int(q.Dropped()))
		if mode == Block {
			require.Zero(t, q.Dropped())
		}
	}
}
