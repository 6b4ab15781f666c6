package pool

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func testutilValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
