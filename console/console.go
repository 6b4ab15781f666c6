// Package console serves the moderators' web page and its JSON API: alerts
// live from JetStream, their evidence images, the streams' status and the
// verdicts, kept in a JetStream key-value bucket.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/streamwatch/streamwatch/match"
)

// Options configure Serve.
type Options struct {
	// NATS is the connection to read alerts, statuses and evidence from
	// and to store verdicts on. Required; Serve does not close it.
	NATS *nats.Conn
	// EvidenceDir, when set, is where evidence images are read from
	// (watch --evidence-dir); else the object store bucket streamwatch_evidence.
	EvidenceDir string
	// Matcher finds the brand and phrase spans highlighted in the text.
	// Default: the rules built into the binary.
	Matcher match.Matcher
	// Access says who may use the console. Default: everyone, which Serve
	// allows only on a loopback listener.
	Access Access
	// Logger gets the console's log; default slog.Default().
	Logger *slog.Logger
	// Now is the clock of verdicts; default time.Now.
	Now func() time.Time
}

// server is one running console; Serve makes and runs it.
type server struct {
	o        Options
	log      *slog.Logger
	nc       *nats.Conn
	js       jetstream.JetStream
	hub      *hub
	reviews  reviews
	evidence evidenceSource
	guard    *guard
}

// shutdownTimeout bounds the wait for open requests at the end of Serve.
const shutdownTimeout = 5 * time.Second

// ErrNoNATS is returned by Serve without Options.NATS.
var ErrNoNATS = errors.New("console: no NATS connection")

// Serve runs the console on ln until ctx ends, then closes ln and returns
// nil. It refuses a listener that is not loopback without Access
// (ErrNeedAuth), and fails when JetStream or the review bucket cannot be
// reached.
func Serve(ctx context.Context, ln net.Listener, o Options) error {
	if err := CheckListener(ln.Addr(), o.Access); err != nil {
		return errors.Join(err, ln.Close())
	}
	c, cleanup, err := newConsole(ctx, o)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	defer cleanup()
	sub, err := c.followStatus()
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	defer func() {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			c.log.Warn("status subscription not ended cleanly", "err", err)
		}
	}()

	g, gctx := errgroup.WithContext(ctx)
	srv := &http.Server{Handler: c.routes(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute,
		// Handlers see gctx end: the event streams stop, and Shutdown does
		// not wait for them.
		BaseContext: func(net.Listener) context.Context { return gctx }}
	g.Go(func() error { return c.readAlerts(gctx) })
	g.Go(func() error { return c.watchReviews(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("console: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("console: shut down: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// newConsole opens what the console reads from and writes to; cleanup
// releases it.
func newConsole(ctx context.Context, o Options) (*server, func(), error) {
	if o.NATS == nil {
		return nil, nil, ErrNoNATS
	}
	if o.Matcher == nil {
		o.Matcher = match.NewMatcher(match.DefaultRules())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &server{o: o, log: o.Logger.With("component", "console"), nc: o.NATS,
		hub: newHub(o.Matcher), guard: newGuard(o.Access)}
	js, err := jetstream.New(o.NATS)
	if err != nil {
		return nil, nil, fmt.Errorf("console: jetstream: %w", err)
	}
	c.js = js
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c.reviews, err = openReviews(cctx, js); err != nil {
		return nil, nil, err
	}
	cleanup := func() {}
	if o.EvidenceDir != "" {
		root, err := os.OpenRoot(o.EvidenceDir)
		if err != nil {
			return nil, nil, fmt.Errorf("console: evidence directory: %w", err)
		}
		c.evidence = dirEvidence{root: root}
		cleanup = func() {
			if err := root.Close(); err != nil {
				c.log.Warn("evidence directory not closed cleanly", "err", err)
			}
		}
	} else {
		c.evidence = objectEvidence{js: js}
	}
	return c, cleanup, nil
}
