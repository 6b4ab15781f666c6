package benchlive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrScrape is returned, wrapped, when the worker's /metrics cannot be read.
var ErrScrape = errors.New("benchlive: scrape")

// Metric names the bench reads from the worker.
const (
	metricSampled    = "streamwatch_frames_sampled_total"
	metricDropped    = "streamwatch_frames_dropped_total"
	metricDecoded    = "streamwatch_frames_decoded_total"
	metricReconnects = "streamwatch_reconnects_total"
	metricLag        = "streamwatch_stream_lag_seconds"
	metricInterval   = "streamwatch_stream_sample_interval_seconds"
	labelStream      = "stream"
)

// Scrape is one reading of the worker's metrics.
type Scrape struct {
	At       time.Time
	Families map[string]*dto.MetricFamily
}

// ParseMetrics reads the Prometheus text format.
func ParseMetrics(text string, at time.Time) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return Scrape{}, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	return Scrape{At: at, Families: fams}, nil
}

func scrape(ctx context.Context, url string) (Scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Scrape{}, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	at := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Scrape{}, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Scrape{}, fmt.Errorf("%w: %s: %s", ErrScrape, url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return Scrape{}, fmt.Errorf("%w: %w", ErrScrape, err)
	}
	return Scrape{At: at, Families: fams}, nil
}

// Has tells whether the worker exports name.
func (s Scrape) Has(name string) bool { return s.Families[name] != nil }

// Sum adds up every series of a counter or gauge; 0 when it is missing.
func (s Scrape) Sum(name string) float64 {
	total := 0.0
	for _, v := range s.ByStream(name) {
		total += v
	}
	if f := s.Families[name]; f != nil {
		for _, m := range f.GetMetric() {
			if labelValue(m, labelStream) == "" {
				total += value(m)
			}
		}
	}
	return total
}

// ByStream returns the series of name by their stream label.
func (s Scrape) ByStream(name string) map[string]float64 {
	out := map[string]float64{}
	f := s.Families[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		if id := labelValue(m, labelStream); id != "" {
			out[id] += value(m)
		}
	}
	return out
}

// Named returns the names of the families whose name contains part,
// sorted, leaving out those that contain any of except.
func (s Scrape) Named(part string, except ...string) []string {
	var out []string
next:
	for name := range s.Families {
		if !strings.Contains(name, part) {
			continue
		}
		for _, e := range except {
			if strings.Contains(name, e) {
				continue next
			}
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}
