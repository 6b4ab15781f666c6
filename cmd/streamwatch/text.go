package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/ocr"
)

// maxMatchLine is the longest line match reads, in bytes, without its
// line ending.
const maxMatchLine = 1 << 20

// cmdMatch reads text lines on in and writes one JSON result per line. A
// line longer than maxMatchLine is skipped with a message on errOut.
func cmdMatch(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	rules := fs.String("rules", "", "rules file (YAML); default: the rules built into the binary")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("match reads text lines on stdin and takes no arguments, got %s", echo.Quote(pos[0]))}
	}
	c := common{rules: *rules}
	r, err := c.loadRules()
	if err != nil {
		return err
	}
	m, ok := match.NewMatcher(r).(match.ContextMatcher)
	if !ok {
		return errors.New("match: the matcher cannot be interrupted") // NewMatcher's always can
	}
	lines := make(chan inputLine)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	// The reader ends at the end of in or when this function returns;
	// blocked in a read of a terminal or pipe, it cannot be woken, and the
	// process exits without it.
	go readLines(readCtx, in, lines)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var res match.Result
	done, skipped := 0, 0
	err = func() error {
		for {
			if ctx.Err() != nil {
				return interrupted(done)
			}
			var l inputLine
			var more bool
			select {
			case l, more = <-lines:
			default:
				// Nothing is waiting: what is written so far goes out now,
				// not when the buffer fills.
				if err := w.Flush(); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				select {
				case l, more = <-lines:
				case <-ctx.Done():
					return interrupted(done)
				}
			}
			switch {
			case !more:
				return nil
			case l.err != nil:
				return fmt.Errorf("read stdin after line %d: %w", done, l.err)
			case l.size > 0:
				skipped++
				fmt.Fprintf(errOut, "streamwatch: match: line %d skipped: %d bytes, longer than the maximum of %d (1 MiB); no result is written for it\n", l.n, l.size, maxMatchLine)
				done = l.n
				continue
			}
			if err := m.MatchIntoContext(ctx, l.text, &res); err != nil {
				return interrupted(done)
			}
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			done = l.n
		}
	}()
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	if err == nil && skipped > 0 {
		err = fmt.Errorf("match: %d of %d lines skipped, longer than the maximum of %d bytes", skipped, done, maxMatchLine)
	}
	return err
}

// interrupted is the error of a match stopped by a signal after line n.
func interrupted(n int) error {
	return fmt.Errorf("match: interrupted after line %d; later lines were not matched", n)
}

// inputLine is a line read by readLines.
type inputLine struct {
	n    int    // 1-based line number
	text string // without the line ending
	size int64  // the bytes of a line longer than maxMatchLine, whose text is left out; 0 otherwise
	err  error  // a read error, which ends the input
}

// readLines sends the lines of in on lines, then closes it. A line ends
// with "\n" or "\r\n", or at the end of in. Only the first maxMatchLine+2
// bytes of a line are kept, so that a line of any length takes bounded
// memory.
func readLines(ctx context.Context, in io.Reader, lines chan<- inputLine) {
	defer close(lines)
	br := bufio.NewReaderSize(in, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		var size int64
		var last [2]byte // the line's last two bytes, for its ending
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			size += int64(len(chunk))
			if room := maxMatchLine + 2 - len(buf); room > 0 {
				buf = append(buf, chunk[:min(room, len(chunk))]...)
			}
			for _, c := range chunk[max(0, len(chunk)-2):] {
				last[0], last[1] = last[1], c
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if size == 0 && err != nil {
			if !errors.Is(err, io.EOF) {
				send(ctx, lines, inputLine{n: n, err: err})
			}
			return
		}
		l := inputLine{n: n}
		var ending int64
		if last[1] == '\n' {
			ending = 1
			if size > 1 && last[0] == '\r' {
				ending = 2
			}
		}
		if size-ending > maxMatchLine {
			l.size = size - ending
		} else {
			l.text = string(buf[:size-ending])
		}
		if !send(ctx, lines, l) {
			return
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				send(ctx, lines, inputLine{n: n + 1, err: err})
			}
			return
		}
	}
}

// send sends l on lines unless ctx is done first; it reports whether it sent.
func send(ctx context.Context, lines chan<- inputLine, l inputLine) bool {
	select {
	case lines <- l:
		return true
	case <-ctx.Done():
		return false
	}
}

// cmdRules runs "rules check FILE".
func cmdRules(args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "push" {
		return cmdRulesPush(args[1:], out)
	}
	if len(args) != 2 || args[0] != "check" {
		return usageError{fmt.Errorf("usage: streamwatch rules check FILE | rules push FILE --nats URL")}
	}
	r, err := match.LoadRules(args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok: %s\n", args[1], r.Summary())
	return nil
}

func cmdVersion(out io.Writer) error {
	fmt.Fprintln(out, versionLine())
	return nil
}

// versionLine names the binary's version and those of Go and Tesseract.
func versionLine() string {
	return fmt.Sprintf("streamwatch %s (%s, tesseract %s)", version, runtime.Version(), ocr.Version())
}
