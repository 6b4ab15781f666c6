package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/match"
	"github.com/streamwatch/streamwatch/pool"
)

// poolClient is the command line of a command that talks to the pool: its
// flags, with --nats among them.
type poolClient struct {
	fs   *flag.FlagSet
	nats *natsFlags
}

func newPoolClient(name string) poolClient {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	p := poolClient{fs: fs, nats: &natsFlags{}}
	p.nats.register(fs)
	return p
}

// parse parses args and wants n positional arguments; what names them in
// the error ("one URL").
func (p poolClient) parse(args []string, n int, what string) ([]string, error) {
	pos, err := parse(p.fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) == n:
		return pos, nil
	case n == 0:
		return nil, usageError{fmt.Errorf("%s takes no arguments, got %s", p.fs.Name(), echo.Quote(strings.Join(pos, " ")))}
	}
	return nil, usageError{fmt.Errorf("%s takes %s, got %d arguments", p.fs.Name(), what, len(pos))}
}

// do connects to NATS, binds the pool's JetStream objects, runs f on them and
// closes the connection.
func (p poolClient) do(ctx context.Context, f func(*pool.Store) error) error {
	s, closeNC, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer closeNC()
	return f(s)
}

// connect connects to NATS and binds the pool's JetStream objects; the
// returned func closes the connection.
func (p poolClient) connect(ctx context.Context) (*pool.Store, func(), error) {
	url := p.nats.serverURL()
	if url == "" {
		return nil, nil, usageError{errors.New("--nats URL (or $NATS_URL) is required")}
	}
	nc, err := p.nats.connect(url, nats.Name("streamwatch-cli"))
	if err != nil {
		return nil, nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The ack wait of an existing consumer is kept: 0 asks for the default
	// only when the pool is new.
	s, err := pool.Open(octx, nc, 0)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return s, nc.Close, nil
}

func cmdSubmit(ctx context.Context, args []string, stdout io.Writer) error {
	p := newPoolClient("submit")
	fs := p.fs
	id := fs.String("stream-id", "", "stream id, [A-Za-z0-9_-]{1,128}; default: derived from the URL")
	channel := fs.String("channel", "", "seller channel of the stream, for brands' authorized_channels")
	pos, err := p.parse(args, 1, "one URL")
	if err != nil {
		return err
	}
	sid, err := (&common{streamID: *id}).streamIDFor(pos[0])
	if err != nil {
		return err
	}
	return p.do(ctx, func(s *pool.Store) error {
		if err := s.Submit(ctx, pool.Assignment{StreamID: sid, URL: pos[0], Channel: *channel}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "submitted %s (%s)\n", sid, ingest.Redact(pos[0]))
		return nil
	})
}

func cmdStop(ctx context.Context, args []string, stdout io.Writer) error {
	p := newPoolClient("stop")
	pos, err := p.parse(args, 1, "one stream id")
	if err != nil {
		return err
	}
	if err := stopTarget(pos[0]); err != nil {
		return err
	}
	return p.do(ctx, func(s *pool.Store) error {
		if err := s.Stop(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "stopped %s\n", pos[0])
		return nil
	})
}

func cmdStatus(ctx context.Context, args []string, stdout io.Writer) error {
	p := newPoolClient("status")
	asJSON := p.fs.Bool("json", false, "print one JSON object {streams, workers}")
	if _, err := p.parse(args, 0, ""); err != nil {
		return err
	}
	s, closeNC, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer closeNC()
	streams, workers, err := s.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if streams == nil {
			streams = []pool.StreamEntry{}
		}
		if workers == nil {
			workers = []pool.WorkerEntry{}
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"streams": streams, "workers": workers})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	loads := map[string]pool.StreamLoad{}
	for _, w := range workers {
		for _, l := range w.Loads {
			loads[l.StreamID] = l
		}
	}
	fmt.Fprintln(tw, "STREAM\tSTATE\tWORKER\tSINCE\tINTERVAL\tLAG\tURL")
	for _, e := range streams {
		interval, lag := "-", "-"
		if l, ok := loads[e.StreamID]; ok && e.State == pool.StateWatching {
			interval, lag = fmt.Sprintf("%.1fs", l.Interval), fmt.Sprintf("%.1fs", l.Lag)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.StreamID, e.State, dash(e.Worker), e.Since.Local().Format(time.DateTime),
			interval, lag, e.URL)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "WORKER\tLOAD\tCAPACITY\tHEARTBEAT\tSTATE\tRULES")
	for _, w := range workers {
		state := "ready"
		switch {
		case w.Draining:
			state = "draining"
		case w.Overloaded != "":
			state = "overloaded: " + w.Overloaded
		}
		rules := "own"
		if w.RulesRevision > 0 {
			rules = "rev " + strconv.FormatUint(w.RulesRevision, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\t%s\t%s\n", w.Worker, w.Load, w.Capacity, time.Since(w.Heartbeat).Round(100*time.Millisecond), state, rules)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cmdRulesPush validates a rules file and stores it for every worker.
func cmdRulesPush(args []string, stdout io.Writer) error {
	p := newPoolClient("rules push")
	pos, err := p.parse(args, 1, "one file")
	if err != nil {
		return err
	}
	data, err := match.ReadRulesFile(pos[0])
	if err != nil {
		return err
	}
	r, err := match.ParseRules(data)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, closeNC, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer closeNC()
	rev, err := s.PushRules(ctx, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: pushed as revision %d: %s\n", pos[0], rev, r.Summary())
	return nil
}

// stopTarget checks the argument of stop before anything is asked of NATS:
// one stream id. A pattern ("*", "shop-*", a NATS wildcard ">") is a usage
// error: stop names each stream it stops, so that a slip of the shell cannot
// stop the whole pool.
func stopTarget(id string) error {
	if strings.ContainsAny(id, "*?[>") {
		return usageError{fmt.Errorf("stop takes one stream id, not a pattern: %s (list the ids with 'streamwatch status')", echo.Quote(id))}
	}
	if err := alerts.ValidateStreamID(id); err != nil {
		return usageError{err}
	}
	return nil
}
