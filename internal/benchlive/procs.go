package benchlive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrExited is returned, wrapped, when a child the bench needs exits early.
var ErrExited = errors.New("benchlive: child exited")

// child is a process the bench started and stops.
type child struct {
	name     string
	cmd      *exec.Cmd
	log      *os.File
	done     chan struct{} // closed when the process has exited
	exitedAt time.Time
	err      error // Wait's result, once done
}

// procGroup owns the bench's children and stops them all, newest first.
type procGroup struct {
	log *slog.Logger
	mu  sync.Mutex
	all []*child
}

// start runs cmd as name, its output (unless already set) into logPath. The
// child gets a process group of its own, so a Ctrl-C on the terminal reaches
// the bench alone and the bench stops the children in order; and it is
// killed if the bench dies.
func (g *procGroup) start(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("benchlive: %w", err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("benchlive: start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		c.exitedAt = time.Now()
		if cerr := f.Close(); cerr != nil {
			g.log.Warn("log not closed", "child", name, "err", cerr)
		}
		close(c.done)
	}()
	g.mu.Lock()
	g.all = append(g.all, c)
	g.mu.Unlock()
	return c, nil
}

// exited tells whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and, after grace, SIGKILL, and waits for the exit.
// It returns the exit error of a child that ended other than by the bench's
// signals.
func (c *child) stop(grace time.Duration) error {
	if c.exited() {
		return c.exitError()
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("benchlive: signal %s: %w", c.name, err)
	}
	select {
	case <-c.done:
	case <-time.After(grace):
		if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("benchlive: kill %s: %w", c.name, err)
		}
		<-c.done
		return fmt.Errorf("%w: %s did not stop within %s of SIGTERM and was killed", ErrExited, c.name, grace)
	}
	return nil
}

// exitError describes how a child that ended on its own ended; nil for a
// clean exit.
func (c *child) exitError() error {
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %w (log %s)", ErrExited, c.name, c.err, c.log.Name())
}

// stopAll stops every child still running, the last started first, and
// waits for each.
func (g *procGroup) stopAll(grace time.Duration) {
	g.mu.Lock()
	all := g.all
	g.all = nil
	g.mu.Unlock()
	var wg sync.WaitGroup
	// Publishers are many and independent: stopped together. The others
	// (worker, nginx) go one at a time, newest first.
	for i := len(all) - 1; i >= 0; i-- {
		c := all[i]
		if c.name == "publisher" {
			wg.Go(func() { g.report(c, c.stop(grace)) })
			continue
		}
		wg.Wait()
		g.report(c, c.stop(grace))
	}
	wg.Wait()
}

func (g *procGroup) report(c *child, err error) {
	if err != nil && !errors.Is(err, ErrExited) {
		g.log.Warn("child not stopped", "child", c.name, "err", err)
	} else if err != nil {
		g.log.Debug("child ended", "child", c.name, "err", err)
	}
}

// lineTee copies what a child writes to w and hands each complete line to
// fn, for lines the bench waits for (the worker's metrics address).
type lineTee struct {
	w   io.Writer
	fn  func(line []byte)
	mu  sync.Mutex
	buf []byte
}

func (t *lineTee) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		t.fn(t.buf[:i])
		t.buf = t.buf[i+1:]
	}
	if len(t.buf) > 1<<20 { // a line this long is no line the bench waits for
		t.buf = t.buf[:0]
	}
	t.mu.Unlock()
	n, err := t.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("benchlive: log: %w", err)
	}
	return n, nil
}

// lastLines returns the last n lines of the file at path, for error messages.
func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "; ")
}
