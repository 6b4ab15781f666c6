package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/streamwatch/streamwatch/alerts"
)

// Collector gathers the alert records of a run, the latest record of each
// alert, and, when it keeps images, the evidence images they name. It is an
// alerts.Sink and an alerts.EvidenceStore, safe for concurrent use.
type Collector struct {
	// Next, if not nil, receives every image put, before the collector
	// keeps it (the run's own evidence store: a directory, the object store).
	Next alerts.EvidenceStore
	// KeepImages keeps the images in memory for the report. Without it
	// the collector keeps records only.
	KeepImages bool

	mu     sync.Mutex
	latest map[string]alerts.Record // by alert id
	images map[string][]byte        // by key
}

// Put hands data to Next, if any, and keeps it under key.
func (c *Collector) Put(ctx context.Context, key string, data []byte) error {
	if c.Next != nil {
		if err := c.Next.Put(ctx, key, data); err != nil {
			return fmt.Errorf("report: evidence: %w", err)
		}
	}
	if !c.KeepImages {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.images == nil {
		c.images = map[string][]byte{}
	}
	c.images[key] = data
	return nil
}

// Publish keeps r as the latest record of its alert. When the alert closes,
// the images of its earlier records that the closing one does not name are
// let go: the report shows an alert as its last record has it.
func (c *Collector) Publish(_ context.Context, r alerts.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latest == nil {
		c.latest = map[string]alerts.Record{}
	}
	c.latest[r.AlertID] = r
	if r.State != alerts.StateClosed {
		return nil
	}
	keep := map[string]bool{r.EvidenceFrame: true}
	for _, e := range r.Evidence {
		keep[e.Crop] = true
	}
	prefix := r.AlertID + "/"
	for k := range c.images {
		if strings.HasPrefix(k, prefix) && !keep[k] {
			delete(c.images, k)
		}
	}
	return nil
}

// Alerts returns the latest record of each alert of stream, by start time
// (then rule, then alert id).
func (c *Collector) Alerts(stream string) []alerts.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []alerts.Record
	for _, r := range c.latest {
		if r.StreamID == stream {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b alerts.Record) int {
		switch {
		case a.StartMS != b.StartMS:
			return cmp.Compare(a.StartMS, b.StartMS)
		case a.Rule != b.Rule:
			return strings.Compare(a.Rule, b.Rule)
		}
		return strings.Compare(a.AlertID, b.AlertID)
	})
	return out
}

// Image returns the image kept under key, or nil.
func (c *Collector) Image(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.images[key]
}
