package ocr

import (
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/otiai10/gosseract/v2"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/lines"
)

// recordingClient records, for each line it reads, the image it was given.
type recordingClient struct {
	tesseract
	image uint32
	reads *[]string
	name  string
}

func (c *recordingClient) SetImageFromBytes(data []byte) error {
	c.image = crc32.ChecksumIEEE(data)
	return c.tesseract.SetImageFromBytes(data)
}

func (c *recordingClient) GetBoundingBoxes(level gosseract.PageIteratorLevel) ([]gosseract.BoundingBox, error) {
	if level == gosseract.RIL_WORD {
		*c.reads = append(*c.reads, fmt.Sprintf("%s:%08x", c.name, c.image))
	}
	return c.tesseract.GetBoundingBoxes(level)
}

// TestAModelReadsARenderingOnce: a full read of a line that reads as junk
// tries renderings and models in turn; some renderings come out as one
// read before (an alternate that keeps what the first kept), and the same
// model is not asked about the same pixels twice. The reading is the one
// the line gets with every read made.
func TestAModelReadsARenderingOnce(t *testing.T) {
	w, err := newWorker(DefaultLanguages)
	require.NoError(t, err)
	defer closeWorker(t, w)
	var reads []string
	for _, c := range []*tesseract{&w.eng, &w.chinese, &w.traditional} {
		rc := &recordingClient{tesseract: *c, reads: &reads, name: map[*tesseract]string{&w.eng: "eng", &w.chinese: "zh", &w.traditional: "tra"}[c]}
		w.inited[rc] = w.inited[*c]
		*c = rc
	}
	const cjk = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	total := 0
	for _, text := range []string{"古驰 高仿 包包 特价", "LV AAA quality", "香奈儿 原单 1:1"} {
		img := renderFrame(t, demoBG, demoCaption(text, cjk))
		for _, box := range lines.Detect(img, lines.DetectOptions{}) {
			reads = reads[:0]
			_, err := w.readCrop(img, box, full)
			require.NoError(t, err)
			seen := map[string]bool{}
			for _, k := range reads {
				require.False(t, seen[k], "%q: a model read the same rendering twice: %q", text, reads)
				seen[k] = true
			}
			total += len(reads)
		}
	}
	t.Logf("%d reads", total)
}
