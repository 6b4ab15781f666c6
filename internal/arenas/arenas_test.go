package arenas

import (
	"os"
	"runtime"
	"strconv"
	"strings"
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

// TestTrimGivesFreeMemoryBack: memory freed in the middle of an arena stays
// resident until Trim gives it back.
func TestTrimGivesFreeMemoryBack(t *testing.T) {
	const blocks = 1024 // 64 MiB
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := residentMB(t)
	fragment(blocks)
	defer unfragment()
	held := residentMB(t)
	if held-before < 48 {
		t.Fatalf("RSS %d MB before, %d MB with 64 MiB freed in mid-arena: the memory was given back without Trim", before, held)
	}
	if !Trim() {
		t.Fatal("Trim gave nothing back")
	}
	after := residentMB(t)
	if held-after < 48 {
		t.Errorf("RSS %d MB before Trim, %d MB after: want 64 MiB back", held, after)
	}
	t.Logf("RSS %d MB, %d with the fragments, %d after Trim", before, held, after)
}

func residentMB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb >> 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
