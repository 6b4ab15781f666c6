package arenas

import (
	"os"
	"runtime"
	"sync"
	"testing"
)

// TestArenasStayWithinTheBound: many threads allocating in C at once share
// at most Limit arenas (glibc's default would give each of them one, up to
// eight per core).
func TestArenasStayWithinTheBound(t *testing.T) {
	if os.Getenv("MALLOC_ARENA_MAX") != "" {
		t.Skip("MALLOC_ARENA_MAX is set: the bound is glibc's")
	}
	limit := Limit()
	if limit < 2 || limit < min(runtime.NumCPU(), 2) {
		t.Fatalf("arena bound %d, want one per core and at least 2", limit)
	}
	const threads = 24 // more than 8 per core on a 2-core machine
	var wg sync.WaitGroup
	start := make(chan struct{})
	release := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(threads)
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			for range 1000 {
				touch()
			}
			ready.Done()
			<-release // hold the thread, so that none is reused
		})
	}
	close(start)
	ready.Wait()
	n, err := Count()
	close(release)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n > limit {
		t.Errorf("%d arenas after %d threads allocated at once, bound %d", n, threads, limit)
	}
	t.Logf("%d arenas, bound %d", n, limit)
}
