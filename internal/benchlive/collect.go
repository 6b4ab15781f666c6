package benchlive

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/monitor"
)

// Arrival is an alert record as the bench's subscription got it.
type Arrival struct {
	At     time.Time
	Record alerts.Record
}

// statusEvent is a stream status message as it arrived.
type statusEvent struct {
	at time.Time
	v  monitor.StreamStatus
}

// collector keeps what the worker published on NATS, per stream.
type collector struct {
	mu     sync.Mutex
	alerts map[string][]Arrival
	status map[string][]statusEvent
	bad    int // messages that did not decode
}

func newCollector() *collector {
	return &collector{alerts: map[string][]Arrival{}, status: map[string][]statusEvent{}}
}

// subscribe collects every alert record and stream status on nc.
func (c *collector) subscribe(nc *nats.Conn) error {
	if _, err := nc.Subscribe(alerts.SubjectPrefix+"*", func(m *nats.Msg) {
		at := time.Now()
		var r alerts.Record
		err := json.Unmarshal(m.Data, &r)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.bad++
			return
		}
		c.alerts[r.StreamID] = append(c.alerts[r.StreamID], Arrival{At: at, Record: r})
	}); err != nil {
		return fmt.Errorf("benchlive: subscribe alerts: %w", err)
	}
	if _, err := nc.Subscribe(monitor.StatusSubject("*"), func(m *nats.Msg) {
		at := time.Now()
		var s monitor.StreamStatus
		err := json.Unmarshal(m.Data, &s)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.bad++
			return
		}
		c.status[s.StreamID] = append(c.status[s.StreamID], statusEvent{at: at, v: s})
	}); err != nil {
		return fmt.Errorf("benchlive: subscribe status: %w", err)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("benchlive: subscribe: %w", err)
	}
	return nil
}

// snapshot copies what was collected so far.
func (c *collector) snapshot() (map[string][]Arrival, map[string][]statusEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := make(map[string][]Arrival, len(c.alerts))
	for k, v := range c.alerts {
		a[k] = append([]Arrival(nil), v...)
	}
	s := make(map[string][]statusEvent, len(c.status))
	for k, v := range c.status {
		s[k] = append([]statusEvent(nil), v...)
	}
	return a, s
}

// attached counts the streams whose latest state is attached or gap (a
// frame arrived after a reconnect).
func attached(status map[string][]statusEvent) int {
	n := 0
	for _, evs := range status {
		if len(evs) == 0 {
			continue
		}
		if st := evs[len(evs)-1].v.State; st == "attached" || st == "gap" {
			n++
		}
	}
	return n
}

// Caption is one showing of the clip's counterfeit caption on one stream:
// the K-th loop of the clip, on screen from Onset (publisher start + the
// caption's media time).
type Caption struct {
	Stream string
	K      int
	Onset  time.Time
}

// CaptionResult is what the worker made of one Caption.
type CaptionResult struct {
	Caption
	// AlertIDs are the distinct alerts of the rule for this caption, in the
	// order they first arrived: one is right, none a miss, more a split.
	AlertIDs []string
	// Latency is from Onset to the first record of the first alert.
	Latency time.Duration
}

// leadIn is how long before a caption's onset an alert may start and still
// be that caption's (frame timing, clock rounding).
const leadIn = 5 * time.Second

// ScoreCaptions assigns each alert of rule to the caption showing its start
// belongs to. An alert's segment started at its record's started_at
// (wall-clock); it belongs to showing k of its stream when it started within
// [onset_k - leadIn, onset_k + period - leadIn). Alerts of a showing after the
// stream's last listed one (a looped run's end) are left out; any other alert
// that fits no listed caption is stray. period is the clip's length (the
// caption repeats once per loop).
func ScoreCaptions(caps []Caption, arrivals map[string][]Arrival, rule string, period time.Duration) (results []CaptionResult, stray int) {
	type key struct {
		stream string
		k      int
	}
	index := map[key]int{}
	first := map[string]time.Time{} // onset of K=0 per stream
	last := map[string]int{}        // highest K per stream
	for i, c := range caps {
		index[key{c.Stream, c.K}] = i
		if c.K == 0 {
			first[c.Stream] = c.Onset
		}
		last[c.Stream] = max(last[c.Stream], c.K)
		results = append(results, CaptionResult{Caption: c})
	}
	seen := map[string]bool{}
	for stream, as := range arrivals {
		for _, a := range as {
			r := a.Record
			if r.Rule != rule || seen[r.AlertID] {
				continue
			}
			seen[r.AlertID] = true
			onset0, ok := first[stream]
			started, err := time.Parse(time.RFC3339Nano, r.StartedAt)
			if !ok || err != nil {
				stray++
				continue
			}
			k := int(math.Floor(float64(started.Sub(onset0)+leadIn) / float64(period)))
			if k > last[stream] {
				continue // a showing the run did not score
			}
			i, ok := index[key{stream, k}]
			if !ok {
				stray++
				continue
			}
			res := &results[i]
			if len(res.AlertIDs) == 0 {
				res.Latency = a.At.Sub(res.Onset)
			}
			res.AlertIDs = append(res.AlertIDs, r.AlertID)
		}
	}
	return results, stray
}

// reconnectReasons counts reconnecting events between from and to by their
// error with numbers, addresses and stream keys taken out, most frequent first.
func reconnectReasons(status map[string][]statusEvent, from, to time.Time) []reasonCount {
	counts := map[string]int{}
	for _, evs := range status {
		for _, e := range evs {
			if e.v.State == "reconnecting" && !e.at.Before(from) && e.at.Before(to) {
				counts[reasonOf(e.v.Error)]++
			}
		}
	}
	out := make([]reasonCount, 0, len(counts))
	for r, n := range counts {
		out = append(out, reasonCount{r, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].reason < out[j].reason
	})
	return out
}

type reasonCount struct {
	reason string
	n      int
}

var (
	urlRE    = regexp.MustCompile(`[a-z]+://\S+`)
	numberRE = regexp.MustCompile(`\d+(\.\d+)?`)
)

func reasonOf(err string) string {
	if err == "" {
		return "(no error: ended)"
	}
	s := urlRE.ReplaceAllStringFunc(err, func(u string) string {
		if strings.HasSuffix(u, ":") { // "open URL: …"
			return "URL:"
		}
		return "URL"
	})
	s = numberRE.ReplaceAllString(s, "N")
	const most = 90
	if r := []rune(s); len(r) > most {
		s = string(r[:most]) + "…"
	}
	return s
}

// AllClosed tells whether every stream in ids has an alert of rule and
// every alert of rule it has is closed: nothing more is to come for a clip
// played once.
func AllClosed(arrivals map[string][]Arrival, ids []string, rule string) bool {
	for _, id := range ids {
		last := map[string]alerts.State{}
		for _, a := range arrivals[id] {
			if a.Record.Rule == rule {
				last[a.Record.AlertID] = a.Record.State
			}
		}
		if len(last) == 0 {
			return false
		}
		for _, st := range last {
			if st != alerts.StateClosed {
				return false
			}
		}
	}
	return true
}
