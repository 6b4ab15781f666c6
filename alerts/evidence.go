package alerts

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamwatch/streamwatch/internal/annotate"
	"github.com/streamwatch/streamwatch/internal/echo"
	"github.com/streamwatch/streamwatch/internal/jpegenc"
	"github.com/streamwatch/streamwatch/match"
)

// EvidenceBucket is the JetStream Object Store bucket of evidence images.
const EvidenceBucket = "streamwatch_evidence"

// Evidence is a line that contributed to an alert, with the key of its
// cropped image when one was stored.
type Evidence struct {
	match.Evidence
	Crop string `json:"crop,omitempty"`
}

// Evidence errors; match them with errors.Is.
var (
	// ErrEvidenceKey is returned by DirStore.Put for a key that would leave
	// its directory.
	ErrEvidenceKey = errors.New("alerts: bad evidence key")
	// ErrEvidenceBox is returned by EncodeCrop for a box that misses the frame.
	ErrEvidenceBox = errors.New("alerts: evidence box outside the frame")
)

// EvidenceStore keeps evidence images under keys.
type EvidenceStore interface {
	Put(ctx context.Context, key string, data []byte) error
}

// DirStore writes evidence images as files under a directory; keys become
// relative paths.
type DirStore struct{ Dir string }

// Put writes data to Dir/key.
func (d DirStore) Put(_ context.Context, key string, data []byte) error {
	if strings.Contains(key, "..") {
		return fmt.Errorf("%w %s", ErrEvidenceKey, echo.Quote(key))
	}
	p := filepath.Join(d.Dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("alerts: evidence: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("alerts: evidence: %w", err)
	}
	return nil
}

// ObjectStore keeps evidence images in a JetStream Object Store bucket.
type ObjectStore struct{ OS jetstream.ObjectStore }

// EnsureEvidenceBucket creates the evidence bucket if it is missing: file
// storage, objects kept for maxAge (0: forever) and at most maxBytes in all
// (0: no limit).
func EnsureEvidenceBucket(ctx context.Context, js jetstream.JetStream, maxAge time.Duration, maxBytes int64) (ObjectStore, error) {
	cfg := jetstream.ObjectStoreConfig{Bucket: EvidenceBucket, Storage: jetstream.FileStorage, TTL: maxAge, MaxBytes: maxBytes}
	if maxBytes == 0 {
		cfg.MaxBytes = -1
	}
	os, err := js.CreateOrUpdateObjectStore(ctx, cfg)
	if err != nil {
		return ObjectStore{}, fmt.Errorf("alerts: evidence bucket %s: %w", EvidenceBucket, err)
	}
	return ObjectStore{OS: os}, nil
}

// Put stores data under key.
func (o ObjectStore) Put(ctx context.Context, key string, data []byte) error {
	_, err := o.OS.PutBytes(ctx, key, data)
	if err != nil {
		return fmt.Errorf("alerts: evidence %s: %w", key, err)
	}
	return nil
}

// Evidence image limits: frames are scaled down to fit MaxEvidenceSide and
// encoded at EvidenceQuality, which keeps a frame under about 200 KB.
const (
	MaxEvidenceSide = 1280
	EvidenceQuality = 75
)

// FrameKey and CropKey name the images of an alert's evidence.
func FrameKey(alertID string, atMS int64) string {
	return fmt.Sprintf("%s/frame-%d.jpg", alertID, atMS)
}

// CropKey names the cropped image of one evidence line.
func CropKey(alertID string, e match.Evidence) string {
	return fmt.Sprintf("%s/line-%d-%d-%d.jpg", alertID, e.AtMS, e.Box.X, e.Box.Y)
}

// EncodeFrame renders img as a JPEG with the boxes drawn in red, scaled down
// to fit MaxEvidenceSide.
func EncodeFrame(img *image.Gray, boxes []match.Box) ([]byte, error) {
	b := img.Bounds()
	rgba := annotate.RGBA(img)
	red := color.RGBA{R: 230, A: 255}
	for _, bx := range boxes {
		annotate.Box(rgba, image.Rect(bx.X, bx.Y, bx.X+bx.W, bx.Y+bx.H).Sub(b.Min), red, 3)
	}
	return encodeJPEG(shrink(rgba))
}

// EncodeCrop renders the box of img as a JPEG.
func EncodeCrop(img *image.Gray, bx match.Box) ([]byte, error) {
	r := image.Rect(bx.X, bx.Y, bx.X+bx.W, bx.Y+bx.H).Intersect(img.Bounds())
	if r.Empty() {
		return nil, ErrEvidenceBox
	}
	return encodeJPEG(img.SubImage(r))
}

func encodeJPEG(img image.Image) ([]byte, error) {
	data, err := jpegenc.Encode(img, EvidenceQuality)
	if err != nil {
		return nil, fmt.Errorf("alerts: encode evidence: %w", err)
	}
	return data, nil
}

// shrink halves img until it fits MaxEvidenceSide (box filter).
func shrink(img *image.RGBA) image.Image {
	for img.Rect.Dx() > MaxEvidenceSide || img.Rect.Dy() > MaxEvidenceSide {
		w, h := img.Rect.Dx()/2, img.Rect.Dy()/2
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				var s [4]int
				for dy := range 2 {
					for dx := range 2 {
						o := img.PixOffset(2*x+dx, 2*y+dy)
						for c := range 4 {
							s[c] += int(img.Pix[o+c])
						}
					}
				}
				o := out.PixOffset(x, y)
				for c := range 4 {
					out.Pix[o+c] = uint8(s[c] / 4)
				}
			}
		}
		img = out
	}
	return img
}
