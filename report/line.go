package report

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Line is the last line of a terminal, showing progress and redrawn in
// place. Whatever else goes to the terminal (logs, alert lines) goes through
// Write, which erases the line first and draws it again after, so the two
// never mix.
type Line struct {
	w     io.Writer
	width int // columns; 0: unknown
	mu    sync.Mutex
	text  string // shown now; empty: nothing shown
	drawn time.Time
	every time.Duration
}

// NewLine returns a progress line on the terminal w of width columns (0 when
// unknown), redrawn at most ten times a second.
func NewLine(w io.Writer, width int) *Line {
	return &Line{w: w, width: width, every: 100 * time.Millisecond}
}

// Write writes p above the progress line.
func (l *Line) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.text != "" {
		if _, err := io.WriteString(l.w, clearLine); err != nil {
			return 0, fmt.Errorf("report: terminal: %w", err)
		}
	}
	n, err := l.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("report: terminal: %w", err)
	}
	if l.text != "" && len(p) > 0 && p[len(p)-1] == '\n' {
		l.draw()
	}
	return n, nil
}

// Show replaces the progress line by text; unless now, not more often than
// ten times a second.
func (l *Line) Show(text string, now bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !now && time.Since(l.drawn) < l.every {
		return
	}
	l.text = l.fit(text)
	l.draw()
}

// Clear erases the progress line.
func (l *Line) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.text != "" {
		// Nothing to do about a terminal that takes no more output.
		_, _ = io.WriteString(l.w, clearLine)
	}
	l.text = ""
}

func (l *Line) draw() {
	l.drawn = time.Now()
	// Nothing to do about a terminal that takes no more output: the
	// progress line is for the eye only.
	_, _ = io.WriteString(l.w, clearLine+l.text)
}

// fit cuts text to the terminal's width, marking the cut: a line that wraps
// could not be redrawn in place.
func (l *Line) fit(text string) string {
	if l.width <= 1 || utf8.RuneCountInString(text) < l.width {
		return text
	}
	r := []rune(text)
	return string(r[:l.width-2]) + "…"
}

// progressText is the progress of file n of total at wall-clock at:
// "replay 1/2 demo.mp4: 42% of 34s, 5.2x real time, 6s left".
func progressText(n, total int, f *File, at time.Time) string {
	s := fmt.Sprintf("replay %d/%d %s:", n, total, filepath.Base(f.Path))
	media := time.Duration(f.MediaMS) * time.Millisecond
	if f.Duration > 0 {
		s += fmt.Sprintf(" %d%% of %s", min(100, int(100*media/f.Duration)), roundDuration(f.Duration))
	} else {
		s += fmt.Sprintf(" %s read", roundDuration(media))
	}
	elapsed := at.Sub(f.started)
	if media <= 0 || elapsed <= 0 {
		return s + ", starting"
	}
	speed := float64(media) / float64(elapsed)
	s += fmt.Sprintf(", %.1fx real time", speed)
	if f.Duration > media {
		s += fmt.Sprintf(", %s left", roundDuration(time.Duration(float64(f.Duration-media)/speed)))
	}
	return s
}

// roundDuration rounds d for people: to a second from 10 s, else to a tenth.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
