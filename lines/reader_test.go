package lines

import (
	"context"
	"fmt"
	"image"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fakeEngine reads every crop as "line" with the confidence of its turn,
// and counts the crops it was handed.
type fakeEngine struct {
	size int
	// confidence[i] is the confidence of the i-th read; the last one
	// stays.
	confidence []float64
	// hold, if not nil, is waited on by every read before it answers.
	hold chan struct{}

	mu       sync.Mutex
	reads    int
	inFlight int
	most     int
}

func (f *fakeEngine) Name() string { return "fake" }
func (f *fakeEngine) Size() int    { return f.size }

func (f *fakeEngine) ReadLines(ctx context.Context, _ *image.Gray, crops []Crop) ([]Reading, error) {
	f.mu.Lock()
	conf := f.confidence[min(f.reads, len(f.confidence)-1)]
	f.reads += len(crops)
	f.inFlight++
	f.most = max(f.most, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([]Reading, len(crops))
	for i, c := range crops {
		out[i] = Reading{Box: c.Box, Text: "line", Confidence: conf}
	}
	return out, nil
}

func (f *fakeEngine) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// captionFrame is a frame holding one caption the detector finds.
func captionFrame(t *testing.T) *image.Gray {
	t.Helper()
	img, _ := detRender(t, 640, 360, "color=c=0x303030:size=640x360",
		[]detCaption{{text: "GUCCI bag 1:1 replica", font: detSans, size: 40, x: "60", y: "250", color: "white"}})
	return img
}

func readFrame(t *testing.T, r *Reader, img *image.Gray) []Line {
	t.Helper()
	p, err := r.Start(context.Background(), img)
	require.NoError(t, err)
	ls, err := p.Wait()
	require.NoError(t, err)
	return ls
}

func TestNewReaderWantsAnEngine(t *testing.T) {
	_, err := NewReader(Options{})
	require.ErrorIs(t, err, ErrNoEngine)
}

// TestReaderReusesUnchangedLines: a line whose pixels have not changed is
// handed on again from the earlier reading, marked reused, and not read.
func TestReaderReusesUnchangedLines(t *testing.T) {
	img := captionFrame(t)
	eng := &fakeEngine{size: 1, confidence: []float64{90}}
	r, err := NewReader(Options{Engine: eng})
	require.NoError(t, err)
	defer r.Close()

	first := readFrame(t, r, img)
	require.Len(t, first, 1)
	require.Equal(t, Line{Box: first[0].Box, Text: "line", Confidence: 90, Engine: "fake"}, first[0])
	require.Equal(t, 1, eng.count())

	again := readFrame(t, r, img)
	require.Equal(t, 1, eng.count(), "not read again")
	require.Len(t, again, 1)
	require.True(t, again[0].Reused)
	require.Equal(t, first[0].Box, again[0].Box)
	require.Equal(t, "line", again[0].Text)

	empty := readFrame(t, r, image.NewGray(img.Rect))
	require.Empty(t, empty)
}

// TestReaderRetriesDoubtfulReadings: a doubtful reading is not reused but
// read again on the next frames, up to three reads per appearance; the
// last reading is then reused.
func TestReaderRetriesDoubtfulReadings(t *testing.T) {
	img := captionFrame(t)
	eng := &fakeEngine{size: 1, confidence: []float64{40}}
	r, err := NewReader(Options{Engine: eng})
	require.NoError(t, err)
	defer r.Close()
	for i := 1; i <= 5; i++ {
		ls := readFrame(t, r, img)
		require.Len(t, ls, 1)
		require.Equal(t, min(i, maxDoubtfulReads), eng.count(), "frame %d", i)
		require.Equal(t, i > maxDoubtfulReads, ls[0].Reused, "frame %d", i)
	}

	// A confident reading after a doubtful one is reused at once.
	eng2 := &fakeEngine{size: 1, confidence: []float64{40, 95}}
	r2, err := NewReader(Options{Engine: eng2})
	require.NoError(t, err)
	defer r2.Close()
	for range 4 {
		readFrame(t, r2, img)
	}
	require.Equal(t, 2, eng2.count())
}

// TestReaderWaitsForPendingRead: a later frame started while its unchanged
// line's read is still out (a replay decodes faster than engines read) waits
// for it, so that a doubtful reading is retried rather than reused.
func TestReaderWaitsForPendingRead(t *testing.T) {
	img := captionFrame(t)
	eng := &fakeEngine{size: 2, confidence: []float64{40, 95}, hold: make(chan struct{})}
	r, err := NewReader(Options{Engine: eng})
	require.NoError(t, err)
	defer r.Close()
	ctx := context.Background()
	p1, err := r.Start(ctx, img)
	require.NoError(t, err)
	var released atomic.Bool
	go func() {
		time.Sleep(50 * time.Millisecond) // let the Start below begin waiting
		released.Store(true)
		close(eng.hold)
	}()
	p2, err := r.Start(ctx, img)
	require.NoError(t, err)
	require.True(t, released.Load(), "waited for the read")
	l1, err := p1.Wait()
	require.NoError(t, err)
	l2, err := p2.Wait()
	require.NoError(t, err)
	require.Equal(t, 40.0, l1[0].Confidence)
	require.Equal(t, 95.0, l2[0].Confidence, "the doubtful reading was read again")
	require.False(t, l2[0].Reused)
	require.Equal(t, 2, eng.count())
}

// TestReaderReadsFramesInParallel: frames with other lines are read up to
// the engine's Size at once, and Ready waits while that many are out.
func TestReaderReadsFramesInParallel(t *testing.T) {
	img := captionFrame(t)
	eng := &fakeEngine{size: 2, confidence: []float64{90}, hold: make(chan struct{})}
	r, err := NewReader(Options{Engine: eng})
	require.NoError(t, err)
	defer r.Close()
	ctx := context.Background()
	var ps []*Pending
	for i := range 2 {
		// Frames of other pixels: nothing to wait for, nothing to reuse.
		f := image.NewGray(img.Rect)
		copy(f.Pix, img.Pix)
		for j := range f.Pix {
			f.Pix[j] ^= byte(0xff * i)
		}
		p, err := r.Start(ctx, f)
		require.NoError(t, err)
		ps = append(ps, p)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.Ready(short), context.DeadlineExceeded, "two frames out: no room for a third")
	close(eng.hold)
	for _, p := range ps {
		ls, err := p.Wait()
		require.NoError(t, err)
		require.Len(t, ls, 1)
	}
	require.NoError(t, r.Ready(ctx))
	eng.mu.Lock()
	defer eng.mu.Unlock()
	require.Equal(t, 2, eng.most, "both frames read at once")
}

// watcher is a Proposer and Observer that counts the frames observed by
// the time of each Propose.
type watcher struct {
	mu       sync.Mutex
	observed int
	seen     []int // observed at each Propose
}

func (w *watcher) Propose(_ context.Context, _ *image.Gray, found []Crop) ([]Crop, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, w.observed)
	return found, nil
}

func (w *watcher) Observe([]Crop, []Reading) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observed++
}

// TestReaderProposesAfterTheFramesBeforeAreObserved: with an Observer, a
// frame's lines are proposed only once the reads of the frames before are
// done and observed, however long they take (an engine of two workers
// would read two frames at once); what it proposes does not depend on
// timing.
func TestReaderProposesAfterTheFramesBeforeAreObserved(t *testing.T) {
	img := captionFrame(t)
	eng := &fakeEngine{size: 2, confidence: []float64{90}, hold: make(chan struct{})}
	release := sync.OnceFunc(func() { close(eng.hold) })
	w := &watcher{}
	r, err := NewReader(Options{Engine: eng, Propose: w})
	require.NoError(t, err)
	defer r.Close()
	defer release() // before Close, should the test fail
	ctx := context.Background()
	p1, err := r.Start(ctx, img)
	require.NoError(t, err)
	other := image.NewGray(img.Rect)
	for j := range other.Pix {
		other.Pix[j] = ^img.Pix[j]
	}
	started := make(chan *Pending)
	go func() {
		p, err := r.Start(ctx, other)
		assert.NoError(t, err)
		started <- p
	}()
	select {
	case <-started:
		t.Fatal("the second frame was proposed while the first one's read was out")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	p2 := <-started
	for _, p := range []*Pending{p1, p2} {
		_, err := p.Wait()
		require.NoError(t, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Equal(t, []int{0, 1}, w.seen)
}
