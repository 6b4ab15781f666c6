// Package testutil holds what the tests of several packages share: a TestMain
// with a goroutine-leak check, ffmpeg and clipgen clip makers that make each
// clip once per test binary, an embedded JetStream server per test, a buffer
// safe for concurrent writers and a TCP listener that never answers. Only
// tests import it; it fails tests through testing.TB and require.
package testutil

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// MainOptions are the choices of MainWith; the zero value is Main's.
type MainOptions struct {
	// Setup runs before the tests; an error ends the run with status 1.
	Setup func() error
	// Teardown runs after the tests, before the leak check.
	Teardown func()
	// NoLeakCheck leaves goleak out, for packages whose goroutines under test
	// run in child processes.
	NoLeakCheck bool
	// Leak are goleak's options, e.g. goroutines of a library to ignore.
	Leak []goleak.Option
}

// Main runs the package's tests, removes the clips the clip makers made and,
// when the tests passed, fails the run on a goroutine left running. Call it
// from TestMain.
func Main(m *testing.M) { MainWith(m, MainOptions{}) }

// MainWith is Main with a set-up, a tear-down or without the leak check.
func MainWith(m *testing.M, o MainOptions) {
	os.Exit(runMain(m, o))
}

func runMain(m *testing.M, o MainOptions) int {
	defer removeClips()
	if o.Setup != nil {
		if err := o.Setup(); err != nil {
			fmt.Fprintln(os.Stderr, "test set-up:", err)
			return 1
		}
	}
	code := m.Run()
	if o.Teardown != nil {
		o.Teardown()
	}
	if code == 0 && !o.NoLeakCheck {
		if err := goleak.Find(o.Leak...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}
