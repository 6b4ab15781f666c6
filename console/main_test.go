package console

import (
	"testing"

	"github.com/streamwatch/streamwatch/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }
