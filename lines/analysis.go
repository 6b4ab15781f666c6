package lines

import (
	"image"
	"slices"

	"github.com/streamwatch/streamwatch/internal/motion"
)

// Analysis is what the Reader works out of a picture before it reads any
// line: its candidate lines, found with the detector options given, and its
// row and column means. A stage that looks at a picture before the reader
// does (the monitor's keyframe judge) makes one with Analyse, and the reader
// takes it (StartWith) instead of working the same out again.
type Analysis struct {
	img     *image.Gray
	detect  DetectOptions
	crops   []Crop
	profile motion.Profile
}

// Analyse finds img's candidate lines with o and its row and column means.
func Analyse(img *image.Gray, o DetectOptions) *Analysis {
	return &Analysis{img: img, detect: o, crops: detect(img, o), profile: motion.Of(img)}
}

// Image is the picture analysed.
func (a *Analysis) Image() *image.Gray { return a.img }

// Boxes are the candidate lines' boxes, as Detect returns them.
func (a *Analysis) Boxes() []image.Rectangle { return boxes(a.crops) }

// Profile is the picture's row and column means.
func (a *Analysis) Profile() motion.Profile { return a.profile }

// analysis is a's work for a reader detecting with o, or img's own when a
// is nil or was made otherwise.
func analysis(img *image.Gray, o DetectOptions, a *Analysis) ([]Crop, motion.Profile) {
	if a != nil && a.img == img && a.detect == o {
		return slices.Clone(a.crops), a.profile
	}
	return detect(img, o), motion.Of(img)
}
