// Command streamwatch watches live-commerce video streams for counterfeit
// selling and publishes alerts on NATS. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	// glibc malloc keeps one arena per core: RSS stays flat (see the package).
	"github.com/streamwatch/streamwatch/internal/arenas"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/internal/stderr"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `streamwatch watches live-commerce video streams for counterfeit selling.

Usage:
  streamwatch watch URL [flags]      monitor one live stream (or a file with --realtime)
  streamwatch replay FILE... [flags] audit recordings: deterministic, as fast as the machine allows
  streamwatch read FILE|URL [flags]  what was read and matched at each sampled frame, one JSON line each
  streamwatch match [flags]          match text lines from stdin, one JSON object per line
  streamwatch rules check FILE       validate a rules file and print a summary
  streamwatch alerts [flags]         show stored alert records; --follow for new ones
  streamwatch console --nats URL     the moderators' web page: alerts live, evidence, verdicts
  streamwatch worker --nats URL      take streams from the pool and watch them; SIGTERM drains
  streamwatch submit URL --stream-id ID  queue a stream for the pool
  streamwatch stop ID                stop watching a pooled stream
  streamwatch status                 the pool's streams and workers
  streamwatch version                print versions

Run 'streamwatch COMMAND -h' for the flags of a command.
`

// trimEvery is how often freed C memory goes back to the system
// (arenas.Trim): make bench-live N=20 DURATION=8m, RSS after minute 3
// 846-868 MB without, 805-815 MB with.
const trimEvery = 30 * time.Second

// exit codes
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks an error in the command line itself.
type usageError struct{ error }

// jsonFailure marks the error of a command whose log is JSON: run reports
// it as a JSON log entry rather than as a line of text.
type jsonFailure struct{ error }

func (e jsonFailure) Unwrap() error { return e.error }

func main() {
	limitOpenMP()
	// Logs and alert lines survive a Tesseract client's initialisation.
	stderr.Keep()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// What C code frees in the middle of an arena goes back to the system
	// every half minute, or a long run's RSS creeps up by its fragments.
	go arenas.TrimEvery(ctx, trimEvery)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "watch":
		err = cmdWatch(ctx, args[1:])
	case "replay":
		err = cmdReplay(ctx, args[1:])
	case "read":
		err = cmdRead(ctx, args[1:], os.Stdout)
	case "match":
		err = cmdMatch(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "alerts":
		err = cmdAlerts(ctx, args[1:], os.Stdout, os.Stderr)
	case "console":
		err = cmdConsole(ctx, args[1:])
	case "rules":
		err = cmdRules(args[1:], os.Stdout)
	case "worker":
		err = cmdWorker(ctx, args[1:])
	case "submit":
		err = cmdSubmit(ctx, args[1:], os.Stdout)
	case "stop":
		err = cmdStop(ctx, args[1:], os.Stdout)
	case "status":
		err = cmdStatus(ctx, args[1:], os.Stdout)
	case "version", "--version":
		err = cmdVersion(os.Stdout)
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, usage)
		return exitOK
	default:
		err = usageError{fmt.Errorf("unknown command %s (see 'streamwatch help')", echo.Quote(args[0]))}
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	msg := "streamwatch: " + echo.Words(oneLine(err.Error()))
	if errors.As(err, new(jsonFailure)) {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error(msg, "component", "cmd")
	} else {
		fmt.Fprintln(os.Stderr, msg)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// limitOpenMP re-executes the process with OMP_THREAD_LIMIT=1 unless it is
// set: Tesseract's OpenMP threads only fight each other when a pool already
// runs one client per core, and libgomp reads the variable at load time.
func limitOpenMP() {
	if os.Getenv("OMP_THREAD_LIMIT") != "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	_ = syscall.Exec(exe, os.Args, env) // on failure, go on with OpenMP's default
}
