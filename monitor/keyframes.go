package monitor

import (
	"image"
	"log/slog"

	"github.com/asticode/go-astiav"

	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/ingest"
	"github.com/streamwatch/streamwatch/internal/motion"
	"github.com/streamwatch/streamwatch/lines"
)

// keyframes is the monitor's ingest.KeyframeJudge, and the decode stage's
// conversion of frames to gray images: a keyframe the judge has looked at
// is converted once.
//
// A keyframe is new when one of its text lines (lines.Detect) is not in
// the keyframe before, and something is gone when one of that one's lines
// is not in it; a line is in the other picture when its pixels match there,
// at the same place or moved with the whole picture (a pan, a tilt: the
// shift that best matches the two pictures' row and column means), to
// within a fraction of their contrast or of the noise between the two
// pictures. The answer depends on the two pictures alone, so a replay
// decodes the same frames.
type keyframes struct {
	conv   frames.GrayConverter
	detect lines.DetectOptions
	log    *slog.Logger

	prev     picture // the keyframe judged before
	havePrev bool
	// judged is the keyframe just judged, as its AVFrame and timestamp
	// (the source hands on its keyframes in one AVFrame), and its picture
	// until the decode stage takes it.
	judgedAV  *astiav.Frame
	judgedPts int64
	judged    *lines.Analysis
}

// picture is a judged keyframe: its upright gray image, its text lines and
// its row and column means.
type picture struct {
	img     *image.Gray
	lines   []image.Rectangle
	profile motion.Profile
}

// Judge tells what keyframe f shows that the keyframe before did not. A
// frame that does not convert is new: the decode stage meets, and reports,
// the same error.
func (k *keyframes) Judge(f ingest.Frame) ingest.KeyframeChange {
	img, err := k.convert(f)
	if err != nil {
		k.havePrev = false
		return ingest.KeyframeNew
	}
	an := lines.Analyse(img, k.detect)
	k.judgedAV, k.judgedPts, k.judged = f.AV, f.AV.Pts(), an
	cur := picture{img: img, lines: an.Boxes(), profile: an.Profile()}
	prev, had := k.prev, k.havePrev
	k.prev, k.havePrev = cur, true
	if !had || !prev.img.Rect.Eq(img.Rect) {
		return ingest.KeyframeNew
	}
	m := newMatcher(prev, cur)
	for _, r := range cur.lines {
		if !m.present(img, prev.img, r, m.back) {
			k.log.Debug("keyframe shows a new line", "media_ms", f.MediaMS, "box", r, "shift", m.shift)
			return ingest.KeyframeNew
		}
	}
	for _, r := range prev.lines {
		if !m.present(prev.img, img, r, m.shift) {
			k.log.Debug("keyframe lost a line", "media_ms", f.MediaMS, "box", r, "shift", m.shift)
			return ingest.KeyframeGone
		}
	}
	return ingest.KeyframeSame
}

// gray is f's picture as an upright gray image: the judged keyframe's
// conversion when f is that frame (with the judge's analysis of it, which
// the line reader takes), else a new one (and no analysis).
func (k *keyframes) gray(f ingest.Frame) (*image.Gray, *lines.Analysis, error) {
	if an := k.judged; an != nil && f.AV == k.judgedAV && f.AV.Pts() == k.judgedPts {
		k.judged = nil
		return an.Image(), an, nil
	}
	img, err := k.convert(f)
	return img, nil, err
}

func (k *keyframes) convert(f ingest.Frame) (*image.Gray, error) {
	img, err := k.conv.ToGray(f.AV)
	if err != nil {
		return nil, err //nolint:wrapcheck // frames' errors say what failed
	}
	return frames.Upright(img, f.Orientation), nil
}

// Close frees the converter's C objects.
func (k *keyframes) Close() { k.conv.Close() }
