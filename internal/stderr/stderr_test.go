package stderr_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/stderr"
	"github.com/streamwatch/streamwatch/ocr"
)

// childEnv makes the test binary the child of TestNoLineLostWhileTesseractInitialises:
// "keep" calls Keep first, "plain" does not.
const childEnv = "STDERR_TEST_CHILD"

// TestNoLineLostWhileTesseractInitialises writes numbered lines to
// os.Stderr while the OCR pool initialises its English client on a first
// read, in a child process whose stderr the test reads: with Keep every
// line arrives; without it those written during the initialisation are
// lost (the check that the test can fail).
func TestNoLineLostWhileTesseractInitialises(t *testing.T) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(mode)
		return
	}
	for _, c := range []struct {
		mode string
		lost bool
	}{{"keep", false}, {"plain", true}} {
		t.Run(c.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNoLineLostWhileTesseractInitialises$")
			cmd.Env = append(os.Environ(), childEnv+"="+c.mode)
			var so, se bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &se
			require.NoError(t, cmd.Run(), "child: %s", tail(se.String()))
			fields := strings.Fields(so.String())
			require.NotEmpty(t, fields, "child wrote no count; stderr: %s", tail(se.String()))
			written, err := strconv.Atoi(fields[0])
			require.NoError(t, err)
			got := strings.Count(se.String(), "line ")
			t.Logf("%s: %d lines written during the read, %d arrived", c.mode, written, got)
			require.Positive(t, written)
			if c.lost {
				require.Less(t, got, written, "without Keep, lines written while the client initialised should be lost")
			} else {
				require.Equal(t, written, got)
			}
		})
	}
}

// child reads a line with a fresh pool, whose first read initialises its
// English client, and writes numbered lines to os.Stderr until the read is
// done; it prints how many on stdout.
func child(mode string) {
	if mode == "keep" {
		stderr.Keep()
	}
	p, err := ocr.NewPool(ocr.Options{Size: 1})
	if err != nil {
		fmt.Println("pool:", err)
		os.Exit(1)
	}
	img := image.NewGray(image.Rect(0, 0, 200, 40))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(context.Background(), img, []image.Rectangle{image.Rect(10, 10, 190, 30)})
		done <- err
	}()
	n := 0
	for {
		select {
		case err := <-done:
			if err == nil {
				err = p.Close()
			}
			if err != nil {
				fmt.Println("read:", err)
				os.Exit(1)
			}
			fmt.Println(n)
			os.Exit(0)
		default:
			fmt.Fprintf(os.Stderr, "line %d\n", n)
			n++
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
