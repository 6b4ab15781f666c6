package ocr

import (
	"testing"

	"github.com/otiai10/gosseract/v2"
	"github.com/stretchr/testify/require"
)

// countingClient counts the lines a client reads (word boxes asked for in
// single-line mode).
type countingClient struct {
	tesseract
	lines int
}

func (c *countingClient) GetBoundingBoxes(level gosseract.PageIteratorLevel) ([]gosseract.BoundingBox, error) {
	if level == gosseract.RIL_WORD {
		c.lines++
	}
	return c.tesseract.GetBoundingBoxes(level)
}

// lineCounts counts the lines each line model of a worker reads.
type lineCounts struct {
	eng, chinese, traditional *countingClient
}

// countLines puts a countingClient around each line client of w.
func countLines(w *worker) lineCounts {
	wrap := func(c *tesseract) *countingClient {
		if *c == nil {
			return &countingClient{}
		}
		cc := &countingClient{tesseract: *c}
		w.inited[cc] = w.inited[*c]
		*c = cc
		return cc
	}
	return lineCounts{eng: wrap(&w.eng), chinese: wrap(&w.chinese), traditional: wrap(&w.traditional)}
}

// reset sets every count back to zero.
func (n lineCounts) reset() {
	n.eng.lines, n.chinese.lines, n.traditional.lines = 0, 0, 0
}

// closeWorker frees the clients of w and fails t if that fails.
func closeWorker(t *testing.T, w *worker) {
	t.Helper()
	require.NoError(t, w.close())
}
