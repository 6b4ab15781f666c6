package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/streamwatch/streamwatch/console"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
)

// defaultConsoleAddr is where "streamwatch console" listens by default.
const defaultConsoleAddr = "127.0.0.1:8080"

// cmdConsole runs "console": the moderators' web page, until interrupted.
func cmdConsole(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	c := &common{fs: fs}
	c.nats.register(fs)
	addr := fs.String("addr", defaultConsoleAddr, "HOST:PORT of the web page; any address that is not loopback needs --token-file or --users-file")
	tokenFile := fs.String("token-file", "", "file holding a shared token (16 characters or more) that lets a browser or client in")
	usersFile := fs.String("users-file", "", "file of basic-auth users, one name:bcrypt-hash per line (htpasswd -nB NAME)")
	fs.StringVar(&c.evidenceDir, "evidence-dir", "", "read evidence images from this directory (watch --evidence-dir) instead of the object store bucket streamwatch_evidence")
	fs.StringVar(&c.rules, "rules", "", "rules file (YAML) whose brands and phrases are highlighted in the text; default: the rules built into the binary")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("console takes no arguments, got %s", echo.Quote(pos[0]))}
	}
	url := c.nats.serverURL()
	if url == "" {
		return usageError{errors.New("no NATS server: use --nats or NATS_URL")}
	}
	log, err := c.logger()
	if err != nil {
		return err
	}
	rules, err := c.loadRules()
	if err != nil {
		return err
	}
	access, err := consoleAccess(*tokenFile, *usersFile)
	if err != nil {
		return err
	}
	nc, err := c.nats.connect(url, nats.Name("streamwatch console"), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	ln, err := listenConsole("--addr", *addr, "give --token-file or --users-file", access, c.logFormat, log)
	if err != nil {
		return err
	}
	return console.Serve(ctx, ln, console.Options{NATS: nc, EvidenceDir: c.evidenceDir,
		Matcher: match.NewMatcher(rules), Access: access, Logger: log})
}

// consoleAccess reads the token and users files, either of which may be "".
func consoleAccess(tokenFile, usersFile string) (console.Access, error) {
	var a console.Access
	var err error
	if tokenFile != "" {
		if a.Token, err = console.LoadToken(tokenFile); err != nil {
			return a, fmt.Errorf("--token-file: %w", err)
		}
	}
	if usersFile != "" {
		if a.Users, err = console.LoadUsers(usersFile); err != nil {
			return a, fmt.Errorf("--users-file: %w", err)
		}
	}
	return a, nil
}

// listenConsole listens on addr (given by flag), refuses a listener that is
// not loopback without access (saying what to do: hint), and tells where the
// page is.
func listenConsole(flag, addr, hint string, access console.Access, logFormat string, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s %s is in use: give a free HOST:PORT, or :0 for any free port: %w", flag, addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if err := console.CheckListener(ln.Addr(), access); err != nil {
		return nil, errors.Join(fmt.Errorf("%s %s is not a loopback address: %s", flag, addr, hint), ln.Close())
	}
	url := "http://" + ln.Addr().String() + "/"
	if logFormat == "json" {
		log.Info("console listening", "component", "cmd", "url", url)
	} else {
		fmt.Fprintf(os.Stderr, "console: %s\n", url)
	}
	return ln, nil
}

// startConsole listens on --console for watch; serve then runs the console
// beside the stream, on the process's NATS connection.
func (w *wiring) startConsole() error {
	ln, err := listenConsole("--console", w.c.consoleAddr,
		"watch serves the console on loopback only; run streamwatch console with --token-file or --users-file",
		console.Access{}, w.c.logFormat, w.log)
	if err != nil {
		return err
	}
	w.console = ln
	w.closers = append(w.closers, func() {
		_ = ln.Close() // closed already once console.Serve ran; this is for an earlier failure
	})
	return nil
}

// serveConsole runs the console on the listener of startConsole until ctx ends.
func (w *wiring) serveConsole(ctx context.Context) error {
	return console.Serve(ctx, w.console, console.Options{NATS: w.nc, EvidenceDir: w.c.evidenceDir,
		Matcher: w.matcher, Logger: w.log})
}

// keepConsole keeps watch --console running after the stream ended, so the
// moderator can go on reviewing, until ctx ends (an interrupt).
func (w *wiring) keepConsole(ctx context.Context) {
	if w.console == nil || ctx.Err() != nil {
		return
	}
	if w.c.logFormat == "json" {
		w.log.Info("stream ended; the console stays up until interrupted", "component", "cmd")
	} else {
		fmt.Fprintln(os.Stderr, "stream ended; the console stays up: interrupt (Ctrl-C) to stop")
	}
	<-ctx.Done()
}
