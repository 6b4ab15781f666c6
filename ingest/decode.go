package ingest

import (
	"fmt"
	"strings"
)

// DecodeMode says which frames of a libav source are decoded. Its flag
// form is the word of String; the zero value is DecodeAll.
type DecodeMode int

// Decode modes, as Options.Decode and --decode take them.
const (
	// DecodeAll decodes every frame.
	DecodeAll DecodeMode = iota
	// DecodeKeyframes decodes keyframes only, never densely.
	DecodeKeyframes
	// DecodeAuto decodes only keyframes while they show nothing new, and
	// decodes densely around a keyframe that Options.Judge finds new: the
	// frames since the keyframe before, up to the last multiple of
	// Options.SampleInterval, and those after it up to the next multiple.
	// Keyframes further apart than twice SampleInterval make it decode
	// every frame.
	DecodeAuto
)

var decodeModeNames = [...]string{DecodeAuto: "auto", DecodeKeyframes: "keyframes", DecodeAll: "all"}

// String is the mode's word: auto, keyframes or all.
func (m DecodeMode) String() string {
	if m < 0 || int(m) >= len(decodeModeNames) {
		return fmt.Sprintf("DecodeMode(%d)", int(m))
	}
	return decodeModeNames[m]
}

// Set sets m from its word (flag.Value); it fails with ErrDecodeMode.
func (m *DecodeMode) Set(s string) error {
	for i, name := range decodeModeNames {
		if strings.EqualFold(s, name) {
			*m = DecodeMode(i)
			return nil
		}
	}
	return fmt.Errorf("%w %q: want auto, keyframes or all", ErrDecodeMode, s)
}

// KeyframeChange is what a KeyframeJudge sees in a keyframe, against the
// keyframe it judged before.
type KeyframeChange int

// Keyframe changes, from least to most.
const (
	// KeyframeSame: nothing new; the frames around it are not decoded.
	KeyframeSame KeyframeChange = iota
	// KeyframeGone: something the keyframe before showed is gone; the GOP
	// before is decoded, so the end is timed at the sample interval.
	KeyframeGone
	// KeyframeNew: something appeared; the GOP before is decoded, so the
	// start is timed at the sample interval, and the GOP it opens too, so
	// that the next sample comes at the interval.
	KeyframeNew
)

var keyframeChangeNames = [...]string{KeyframeSame: "same", KeyframeGone: "gone", KeyframeNew: "new"}

// String is the change's word: same, gone or new.
func (c KeyframeChange) String() string {
	if c < 0 || int(c) >= len(keyframeChangeNames) {
		return fmt.Sprintf("KeyframeChange(%d)", int(c))
	}
	return keyframeChangeNames[c]
}

// KeyframeJudge tells a Source in DecodeAuto what a keyframe shows that
// the keyframe before did not. It is called on the goroutine that runs the
// Source, for each keyframe before the keyframe (and the frames before it)
// are handed on; f.AV is valid during the call only. For a replay to
// decode the same frames, the answer must depend on the pictures alone.
//
// Shows is asked, after Judge found a keyframe new, about the frame decoded
// again at the last sample slot before it: whether f shows what made the
// keyframe new. If it does, f and the keyframe are two sightings already,
// and the GOP the keyframe opens is not decoded.
type KeyframeJudge interface {
	Judge(f Frame) KeyframeChange
	Shows(f Frame) bool
}
