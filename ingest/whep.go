package ingest

import (
	"context"
	"errors"
	"fmt"
)

// ErrWHEPUnavailable is returned while WHEP ingest is not built in.
var ErrWHEPUnavailable = errors.New("ingest: WHEP ingest is not available in this build")

// openWHEP opens a WHEP session; see whep.go's replacement in the WHEP work.
func openWHEP(_ context.Context, url string, _ Options) (Stream, error) {
	return nil, fmt.Errorf("open %s: %w", Redact(url), ErrWHEPUnavailable)
}
