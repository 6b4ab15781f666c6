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
// decodes the same frames. A frame before a new keyframe shows what is new
// when each line that made the keyframe new matches there alike.
type keyframes struct {
	conv   frames.GrayConverter
	detect lines.DetectOptions
	log    *slog.Logger
	// minHits is how many sampled frames must show a hit: past two, a
	// frame before a new keyframe never stands in for the frames after it.
	minHits int

	prev     picture // the keyframe judged before
	havePrev bool
	// news are the lines of prev that made it new.
	news []image.Rectangle
	// churn is where lines came and went in the keyframes before (new in
	// one, lost in the next): texture, whose lines neither make a keyframe
	// new nor gone. A line that stayed a keyframe is a caption: its end
	// does not count.
	churn               lines.Churn
	lost, kept, churned []image.Rectangle // scratch of Judge
	// judged is the keyframe just judged and shown the frame Shows looked
	// at, with the analyses of their pictures, until the decode stage takes
	// them (the line reader takes the analyses).
	judged, shown analysed
}

// analysed is the analysis of a frame's picture, by the frame's AVFrame and
// timestamp (the source hands on its keyframes in one AVFrame, its other
// frames in another).
type analysed struct {
	av  *astiav.Frame
	pts int64
	an  *lines.Analysis
}

// take returns a's analysis, and forgets it, if it is f's.
func (a *analysed) take(f ingest.Frame) *lines.Analysis {
	an := a.an
	if an == nil || f.AV != a.av || f.AV.Pts() != a.pts {
		return nil
	}
	a.an = nil
	return an
}

// picture is a judged keyframe: its upright gray image, its text lines and
// its row and column means.
type picture struct {
	img     *image.Gray
	lines   []image.Rectangle
	profile motion.Profile
	// stayed says which lines were in the keyframe before too (nil: none).
	stayed []bool
}

// Judge tells what keyframe f shows that the keyframe before did not. A
// frame that does not convert is new: the decode stage meets, and reports,
// the same error.
func (k *keyframes) Judge(f ingest.Frame) ingest.KeyframeChange {
	img, err := k.convert(f)
	if err != nil {
		k.havePrev, k.news = false, k.news[:0]
		return ingest.KeyframeNew
	}
	an := lines.Analyse(img, k.detect)
	k.judged, k.shown = analysed{av: f.AV, pts: f.AV.Pts(), an: an}, analysed{}
	cur := picture{img: img, lines: an.Boxes(), profile: an.Profile()}
	prev, had := k.prev, k.havePrev
	k.prev, k.havePrev, k.news = cur, true, k.news[:0]
	if !had || !prev.img.Rect.Eq(img.Rect) {
		if len(cur.lines) == 0 {
			// Nothing to time: what comes later makes a later keyframe new.
			return ingest.KeyframeSame
		}
		return ingest.KeyframeNew
	}
	m := newMatcher(prev, cur)
	var fresh, texture int
	stayed := make([]bool, len(cur.lines))
	for i, r := range cur.lines {
		if stayed[i] = m.present(img, prev.img, r, m.back); stayed[i] {
			continue
		}
		fresh++
		if k.churn.Texture(img.Rect, r) {
			texture++
			continue
		}
		k.news = append(k.news, r)
	}
	k.prev.stayed = stayed
	lost, kept, churned := k.lost[:0], k.kept[:0], k.churned[:0]
	for i, r := range prev.lines {
		switch {
		case m.present(prev.img, img, r, m.shift):
			kept = append(kept, r)
		case prev.stayed != nil && prev.stayed[i]:
			lost = append(lost, r) // a caption gone, not texture
		default:
			lost, churned = append(lost, r), append(churned, r)
		}
	}
	change := k.change(f.MediaMS, lost, m.shift)
	if fresh > 0 {
		k.log.Debug("keyframe shows new lines", "media_ms", f.MediaMS, "lines", fresh, "texture", texture, "shift", m.shift)
	}
	k.churn.Learn(img.Rect, churned, kept)
	k.lost, k.kept, k.churned = lost, kept, churned
	return change
}

// change is what a keyframe at ms shows: new when a line new in it is not
// texture (k.news), gone when a line of the keyframe before, not texture,
// is lost in it, else the same.
func (k *keyframes) change(ms int64, lost []image.Rectangle, shift image.Point) ingest.KeyframeChange {
	if len(k.news) > 0 {
		k.log.Debug("keyframe shows a new line", "media_ms", ms, "box", k.news[0], "lines", len(k.news), "shift", shift)
		return ingest.KeyframeNew
	}
	for _, r := range lost {
		if !k.churn.Texture(k.prev.img.Rect, r) {
			k.log.Debug("keyframe lost a line", "media_ms", ms, "box", r, "shift", shift)
			return ingest.KeyframeGone
		}
	}
	return ingest.KeyframeSame
}

// Shows tells whether f, a frame before the keyframe just judged new,
// shows each line that made it new: they match in f as they would in the
// keyframe after it. A keyframe new for want of one before it to compare
// with (the first, or another size) has no such lines, and is never shown.
func (k *keyframes) Shows(f ingest.Frame) bool {
	if len(k.news) == 0 || k.minHits > 2 {
		return false
	}
	img, err := k.convert(f)
	if err != nil || !img.Rect.Eq(k.prev.img.Rect) {
		return false
	}
	an := lines.Analyse(img, k.detect)
	k.shown = analysed{av: f.AV, pts: f.AV.Pts(), an: an}
	before := picture{img: img, profile: an.Profile()}
	m := newMatcher(before, k.prev)
	for _, r := range k.news {
		if !m.present(k.prev.img, img, r, m.back) {
			return false
		}
	}
	k.log.Debug("the frame before a new keyframe shows its new lines", "media_ms", f.MediaMS, "lines", len(k.news))
	return true
}

// gray is f's picture as an upright gray image: the judged keyframe's
// conversion, or Shows', when f is that frame (with the analysis of it,
// which the line reader takes), else a new one (and no analysis).
func (k *keyframes) gray(f ingest.Frame) (*image.Gray, *lines.Analysis, error) {
	if an := k.judged.take(f); an != nil {
		return an.Image(), an, nil
	}
	if an := k.shown.take(f); an != nil {
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
