package ingest

import (
	"math"

	"github.com/asticode/go-astiav"
)

// Orientation says how a decoded picture is turned to be shown upright, as the
// display matrix of its stream (or frame) asks: a phone holds portrait video
// as landscape pictures with a matrix that turns them a quarter. It is a
// clockwise turn by a multiple of 90 degrees, then optionally a mirror (a
// flip from left to right).
type Orientation uint8

// The eight orientations: four turns, each with and without a mirror.
const (
	Upright           Orientation = iota // shown as decoded
	Rotate90                             // turned a quarter clockwise (ffmpeg's transpose=clock)
	Rotate180                            // turned half round (hflip and vflip)
	Rotate270                            // turned a quarter anticlockwise (transpose=cclock)
	Mirrored                             // flipped left to right (hflip)
	Rotate90Mirrored                     // turned a quarter clockwise, then mirrored: transposed (transpose=cclock_flip)
	Rotate180Mirrored                    // turned half round, then mirrored: flipped top to bottom (vflip)
	Rotate270Mirrored                    // turned a quarter anticlockwise, then mirrored (transpose=clock_flip)
)

// Degrees is the clockwise turn of o: 0, 90, 180 or 270.
func (o Orientation) Degrees() int { return 90 * int(o&3) }

// Mirror reports whether o flips the turned picture from left to right.
func (o Orientation) Mirror() bool { return o&4 != 0 }

// SwapsSides reports whether the upright picture is as wide as the decoded
// one is high.
func (o Orientation) SwapsSides() bool { return o&1 != 0 }

// String names o as the logs and the README do: "upright", "rotate=90",
// "rotate=270,mirror", "mirror".
func (o Orientation) String() string {
	switch {
	case o > Rotate270Mirrored:
		return "invalid"
	case o == Upright:
		return "upright"
	case o == Mirrored:
		return "mirror"
	}
	s := "rotate=" + [...]string{"0", "90", "180", "270"}[o&3]
	if o.Mirror() {
		s += ",mirror"
	}
	return s
}

// MarshalText gives o's String form, for JSON logs.
func (o Orientation) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// orientationOf reads a display matrix (AV_PKT_DATA_DISPLAYMATRIX,
// AV_FRAME_DATA_DISPLAYMATRIX: nine 32-bit integers) the way ffmpeg's and
// ffplay's autorotate do; an angle between quarter turns is taken to the
// nearest one. A matrix too short to hold one is Upright.
func orientationOf(b []byte) Orientation {
	m, err := astiav.NewDisplayMatrixFromBytes(b)
	if err != nil {
		return Upright
	}
	// go-astiav's Rotation is libav's angle negated: clockwise.
	theta := m.Rotation()
	if math.IsNaN(theta) {
		return Upright
	}
	quarter := int(math.Round(theta/90)) & 3
	a, c, e := int32(m[0]), int32(m[3]), int32(m[4])
	switch quarter {
	case 1:
		if c > 0 {
			return Rotate90Mirrored
		}
		return Rotate90
	case 2:
		// A half turn is a flip both ways; a matrix that flips only one
		// way comes out at a half turn too.
		switch {
		case a < 0 && e < 0:
			return Rotate180
		case a < 0:
			return Mirrored
		case e < 0:
			return Rotate180Mirrored
		}
		return Upright
	case 3:
		if c < 0 {
			return Rotate270Mirrored
		}
		return Rotate270
	}
	if e < 0 {
		return Rotate180Mirrored
	}
	return Upright
}

// streamOrientation is the orientation of st's display matrix, Upright
// without one.
func streamOrientation(st *astiav.Stream) Orientation {
	return orientationOf(st.SideData(astiav.PacketSideDataTypeDisplaymatrix))
}

// frameOrientation is the orientation of f's own display matrix (an H.264
// display-orientation SEI), or else def, the stream's.
func frameOrientation(f *astiav.Frame, def Orientation) Orientation {
	if sd := f.SideData(astiav.FrameSideDataTypeDisplaymatrix); sd != nil {
		return orientationOf(sd.Data())
	}
	return def
}
