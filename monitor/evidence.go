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
// before it was emitted, and remembers which images were stored. Frames
// without one are not kept: they cannot be evidence, and a stream showing
// nothing to match holds no images. Used by one goroutine.
type recentFrames struct {
	max    int
	frames []frames.Sampled
	stored map[string]bool // keys already stored, per alert, until it closes
}

func newRecentFrames(n int) *recentFrames {
	return &recentFrames{max: n, stored: map[string]bool{}}
}

func (rf *recentFrames) add(s frames.Sampled) {
	rf.frames = append(rf.frames, s)
	if len(rf.frames) > rf.max {
		rf.frames[0] = frames.Sampled{}
		rf.frames = rf.frames[1:]
	}
}

func (rf *recentFrames) image(atMS int64) *image.Gray {
	for i := len(rf.frames) - 1; i >= 0; i-- {
		if rf.frames[i].MediaMS == atMS {
			return rf.frames[i].Image
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
	put := func(key string, encode func(*image.Gray) ([]byte, error), atMS int64) bool {
		if rf.stored[key] {
			return true
		}
		img := rf.image(atMS)
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
		if put(key, func(img *image.Gray) ([]byte, error) { return alerts.EncodeCrop(img, e.Box) }, e.AtMS) {
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
		if put(key, func(img *image.Gray) ([]byte, error) { return alerts.EncodeFrame(img, boxes) }, best) {
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
