package monitor

import (
	"context"
	"image"
	"log/slog"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/frames"
	"github.com/streamwatch/streamwatch/match"
)

// recentFrames keeps the last sampled frames of a stream that had a matched
// line, so that a record can be given images of evidence seen a few frames
// before it was emitted, and remembers which images were stored. The newest
// few are kept whole: a record's evidence frame is its strongest line's,
// and the first record of an alert comes at its MinHits-th frame with a hit,
// its strongest line often on the first of them. Of older ones only the
// crops of their lines are kept, which is all their evidence needs. Frames
// without a matched line are not kept: they cannot be evidence. Used by one
// goroutine.
type recentFrames struct {
	max    int
	whole  int // how many of the newest are kept whole; at least 1
	frames []recentFrame
	stored map[string]bool // keys already stored, per alert, until it closes
}

// recentFrame is a kept frame: whole, or (crops) its lines' pixels alone.
type recentFrame struct {
	atMS  int64
	whole *image.Gray
	crops []*image.Gray // copies, each with its line's box as its Rect
	boxes []image.Rectangle
}

// newRecentFrames keeps n frames, the newest whole of them whole.
func newRecentFrames(n, whole int) *recentFrames {
	return &recentFrames{max: n, whole: max(whole, 1), stored: map[string]bool{}}
}

// add keeps s, whose lines have the boxes given; the frame that leaves the
// newest whole ones is cut down to its lines.
func (rf *recentFrames) add(s frames.Sampled, boxes []image.Rectangle) {
	if n := len(rf.frames); n >= rf.whole {
		rf.frames[n-rf.whole].cut()
	}
	rf.frames = append(rf.frames, recentFrame{atMS: s.MediaMS, whole: s.Image, boxes: boxes})
	if len(rf.frames) > rf.max {
		rf.frames[0] = recentFrame{}
		rf.frames = rf.frames[1:]
	}
}

// cut replaces the whole frame by copies of its lines.
func (f *recentFrame) cut() {
	if f.whole == nil {
		return
	}
	for _, b := range f.boxes {
		b = b.Intersect(f.whole.Rect)
		if b.Empty() {
			continue
		}
		c := image.NewGray(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			copy(c.Pix[c.PixOffset(b.Min.X, y):][:b.Dx()], f.whole.Pix[f.whole.PixOffset(b.Min.X, y):])
		}
		f.crops = append(f.crops, c)
	}
	f.whole = nil
}

func (rf *recentFrames) find(atMS int64) *recentFrame {
	for i := len(rf.frames) - 1; i >= 0; i-- {
		if rf.frames[i].atMS == atMS {
			return &rf.frames[i]
		}
	}
	return nil
}

// frame is the whole frame at atMS, if it is kept whole.
func (rf *recentFrames) frame(atMS int64) *image.Gray {
	if f := rf.find(atMS); f != nil {
		return f.whole
	}
	return nil
}

// line is an image holding box of the frame at atMS: the whole frame, or
// the crop of a line of it that holds box.
func (rf *recentFrames) line(atMS int64, box image.Rectangle) *image.Gray {
	f := rf.find(atMS)
	if f == nil {
		return nil
	}
	if f.whole != nil {
		return f.whole
	}
	for _, c := range f.crops {
		if box.In(c.Rect) {
			return c
		}
	}
	return nil
}

// storedAlready notes the images an earlier watcher stored for r (the keys
// derive from the alert id and evidence), so they are referred to, not
// looked for among frames this watcher never had.
func (rf *recentFrames) storedAlready(r alerts.Record) {
	for _, e := range r.Evidence {
		if e.Crop != "" {
			rf.stored[e.Crop] = true
		}
	}
	if r.EvidenceFrame != "" {
		rf.stored[r.EvidenceFrame] = true
	}
}

// attach stores the images r's evidence needs (those not stored before and
// whose frame is still at hand) and sets their keys in r. A failed store is
// logged and leaves the key out: the record goes out all the same.
func (rf *recentFrames) attach(ctx context.Context, store alerts.EvidenceStore, r *alerts.Record, log *slog.Logger) {
	put := func(key string, encode func(*image.Gray) ([]byte, error), img *image.Gray) bool {
		if rf.stored[key] {
			return true
		}
		if img == nil {
			return false
		}
		data, err := encode(img)
		if err == nil {
			err = store.Put(context.WithoutCancel(ctx), key, data)
		}
		if err != nil {
			log.Error("evidence not stored", "key", key, "err", err)
			return false
		}
		rf.stored[key] = true
		return true
	}
	for i := range r.Evidence {
		e := r.Evidence[i].Evidence
		key := alerts.CropKey(r.AlertID, e)
		box := image.Rect(e.Box.X, e.Box.Y, e.Box.X+e.Box.W, e.Box.Y+e.Box.H)
		if put(key, func(img *image.Gray) ([]byte, error) { return alerts.EncodeCrop(img, e.Box) }, rf.line(e.AtMS, box)) {
			r.Evidence[i].Crop = key
		}
	}
	if len(r.Evidence) > 0 {
		best := r.Evidence[0].AtMS
		var boxes []match.Box
		for _, e := range r.Evidence {
			if e.AtMS == best {
				boxes = append(boxes, e.Box)
			}
		}
		key := alerts.FrameKey(r.AlertID, best)
		if put(key, func(img *image.Gray) ([]byte, error) { return alerts.EncodeFrame(img, boxes) }, rf.frame(best)) {
			r.EvidenceFrame = key
		}
	}
	if r.State == alerts.StateClosed {
		prefix := r.AlertID + "/"
		for k := range rf.stored {
			if len(k) > len(prefix) && k[:len(prefix)] == prefix {
				delete(rf.stored, k)
			}
		}
	}
}
