// Package arenas bounds glibc malloc's arenas to one per core (at least
// two), as the process loads. C code called from many threads (a decoder per
// stream, Tesseract, ONNX Runtime) otherwise makes up to eight arenas per
// core, whose freed memory fragments and is seldom given back: a worker's
// RSS crept by ~10 MB a minute at 20 streams and stayed ~3.5 MB a stream
// higher (make bench-live N=20 DURATION=12m, with and without
// MALLOC_ARENA_MAX=2). A MALLOC_ARENA_MAX in the environment is left to
// glibc. Import it for its effect: import _ ".../internal/arenas".
package arenas

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sw_arena_max;

__attribute__((constructor)) static void sw_bound_arenas(void) {
	if (getenv("MALLOC_ARENA_MAX") != NULL) {
		return;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 2) {
		n = 2;
	}
	if (mallopt(M_ARENA_MAX, (int)n) == 1) {
		sw_arena_max = (int)n;
	}
}

static int sw_trim(void) { return malloc_trim(0); }

// sw_fragment leaves n blocks of 64 KiB free in the middle of the calling
// thread's arena (a small block kept after each), where free() gives
// nothing back; sw_unfragment frees the small blocks. For a test.
static void **sw_kept;
static int sw_kept_n;

static void sw_fragment(int n) {
	sw_kept = calloc(n, sizeof(void *));
	sw_kept_n = n;
	void **big = calloc(n, sizeof(void *));
	for (int i = 0; i < n; i++) {
		big[i] = malloc(64 << 10);
		if (big[i] != NULL) {
			memset(big[i], 1, 64 << 10);
		}
		sw_kept[i] = malloc(64);
	}
	for (int i = 0; i < n; i++) {
		free(big[i]);
	}
	free(big);
}

static void sw_unfragment(void) {
	for (int i = 0; i < sw_kept_n; i++) {
		free(sw_kept[i]);
	}
	free(sw_kept);
	sw_kept = NULL;
	sw_kept_n = 0;
}

static int sw_arena_limit(void) { return sw_arena_max; }

// sw_arena_count counts the arenas malloc_info describes (<heap nr=...>).
static int sw_arena_count(void) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return -1;
	}
	if (malloc_info(0, f) != 0) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) {
		n++;
	}
	free(buf);
	return n;
}

// sw_malloc_touch allocates and frees a small block on the calling thread,
// which gives the thread an arena of its own when the bound allows one.
static void sw_malloc_touch(void) {
	void *p = malloc(64);
	if (p != NULL) {
		memset(p, 1, 64);
	}
	free(p);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInfo is returned when glibc's malloc_info cannot be read.
var ErrInfo = errors.New("arenas: malloc_info failed")

// Limit is the arena bound set as the process loaded; 0 when it was left to
// glibc (MALLOC_ARENA_MAX given, or mallopt refused).
func Limit() int { return int(C.sw_arena_limit()) }

// Count is how many arenas malloc has now.
func Count() (int, error) {
	n := int(C.sw_arena_count())
	if n < 0 {
		return 0, fmt.Errorf("%w", ErrInfo)
	}
	return n, nil
}

// Trim gives the free memory of every arena back to the system
// (malloc_trim(0)); it reports whether any was given back.
func Trim() bool { return C.sw_trim() == 1 }

// TrimEvery calls Trim every d until ctx is done. A long-running process
// calls it: a freed decoder's or model's memory in the middle of an arena
// is otherwise kept, and RSS creeps up with the arenas' fragments.
func TrimEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			Trim()
		}
	}
}

// fragment leaves n×64 KiB of free memory in the middle of an arena;
// unfragment frees the blocks that held it there. For a test.
func fragment(n int) { C.sw_fragment(C.int(n)) }
func unfragment()    { C.sw_unfragment() }

// touch makes the calling thread allocate in C.
func touch() { C.sw_malloc_touch() }
