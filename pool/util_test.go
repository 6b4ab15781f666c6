package pool

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

func testutilValue(c prometheus.Collector) float64 { return promtest.ToFloat64(c) }

func TestMain(m *testing.M) { testutil.Main(m) }
