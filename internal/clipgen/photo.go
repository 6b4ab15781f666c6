package clipgen

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// PhotoBackground names the generated photograph-like background: a still
// picture of soft textured surfaces and objects with sharp edges, larger than
// the clip, which a camera pans back and forth. Its arguments are
// "photo=seed=N:pan=P": the picture's random seed (default 1) and the pan's
// top speed in pixels per second (default 40).
const PhotoBackground = "photo"

// errPhotoArgs is wrapped by the errors parsePhoto returns; normalize wraps
// them in ErrInvalidClip.
var errPhotoArgs = errors.New("photo background")

const (
	photoScale      = 1.5 // the picture is this much larger than the clip each way
	defaultPhotoPan = 40
	photoObjects    = 60
)

// photoSpec is a parsed "photo=…" background.
type photoSpec struct {
	seed uint64
	pan  int
}

// parsePhoto reads the arguments of a photo background; ok is false when bg
// names another source.
func parsePhoto(bg string) (spec photoSpec, ok bool, err error) {
	src, rest := splitTop(strings.TrimSpace(bg), ',')
	name, args, _ := strings.Cut(src, "=")
	if strings.TrimSpace(name) != PhotoBackground {
		return photoSpec{}, false, nil
	}
	if rest != "" {
		return photoSpec{}, true, fmt.Errorf("%w takes no further filters, got %q", errPhotoArgs, rest)
	}
	spec = photoSpec{seed: 1, pan: defaultPhotoPan}
	if args == "" {
		return spec, true, nil
	}
	for _, kv := range strings.Split(args, ":") {
		k, v, _ := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if perr != nil {
			return photoSpec{}, true, fmt.Errorf("%w: %s=%q is not a whole number", errPhotoArgs, k, v)
		}
		switch strings.TrimSpace(k) {
		case "seed":
			spec.seed = n
		case "pan":
			spec.pan = int(n)
		default:
			return photoSpec{}, true, fmt.Errorf("%w: unknown argument %q (seed, pan)", errPhotoArgs, k)
		}
	}
	return spec, true, nil
}

// photoSize is the size of the picture a clip of w x h pans over, even.
func photoSize(w, h int) (int, int) {
	return int(float64(w)*photoScale) &^ 1, int(float64(h)*photoScale) &^ 1
}

// photoChain is the source chain of a photo background read from the PNG at
// path: the picture repeated as every frame, cropped to the clip's size at a
// position that moves as a slow pan (cosine ease, so speed is at most pan px/s).
func photoChain(c Clip, spec photoSpec, path string) string {
	pw, ph := photoSize(c.Width, c.Height)
	ax, ay := float64(pw-c.Width)/2, float64(ph-c.Height)/2
	// x = ax·(1−cos ωt) has top speed ax·ω; y pans at half that speed, out of step.
	wx := float64(spec.pan) / max(ax, 1)
	wy := wx / 2
	x := fmt.Sprintf("%.3f*(1-cos(%.5f*t))", ax, wx)
	y := fmt.Sprintf("%.3f*(1-cos(%.5f*t))", ay, wy)
	// fps= gives the chain the clip's frame rate (the movie source says 25):
	// without it a clip of another rate came out at 25 fps, its frame count
	// reached after DurationMS * FPS/25, cut short.
	return fmt.Sprintf("movie=filename=%s,loop=loop=-1:size=1:start=0,setpts=N/(%d*TB),fps=%d,format=yuv420p,crop=%d:%d:x=%s:y=%s,setsar=1",
		filterValue(path), c.FPS, c.FPS, c.Width, c.Height, filterValue(x), filterValue(y))
}

// writePhoto renders the picture of spec for a clip of w x h into a PNG at path.
func writePhoto(path string, w, h int, spec photoSpec) error {
	pw, ph := photoSize(w, h)
	img := renderPhoto(pw, ph, spec.seed)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("clipgen: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(bw, img); err != nil {
		f.Close()
		return fmt.Errorf("clipgen: photo: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("clipgen: photo: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("clipgen: photo: %w", err)
	}
	return nil
}

// renderPhoto draws a w x h picture that has what makes a photograph costly to
// encode and to read text on: smooth shading at every scale (fractal noise),
// fine texture, and objects with hard edges and highlights. The same seed
// gives the same picture.
func renderPhoto(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	lum := newFractal(rng, 256, 7, 0.55)
	warm := newFractal(rng, 512, 3, 0.5)
	grain := newFractal(rng, 4, 2, 0.5)
	fabric := newFractal(rng, 24, 4, 0.6)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			l := 0.25 + 0.5*lum.at(fx, fy) + 0.08*(grain.at(fx, fy)-0.5)
			t := warm.at(fx, fy)
			// A room: warm wood to cool wall, by the slow chroma field.
			r := l * (0.85 + 0.35*t)
			g := l * (0.8 + 0.15*t)
			b := l * (1.05 - 0.45*t)
			img.SetRGBA(x, y, color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	for range photoObjects {
		drawObject(img, rng, fabric)
	}
	return img
}

// drawObject paints one product-like shape: a box or an ellipse, lit from the
// top left, with a dark rim and its surface texture.
func drawObject(img *image.RGBA, rng *rand.Rand, fabric *fractal) {
	b := img.Bounds()
	ow := 20 + rng.IntN(b.Dx()/6)
	oh := 20 + rng.IntN(b.Dy()/5)
	x0, y0 := rng.IntN(b.Dx()-ow), rng.IntN(b.Dy()-oh)
	// Muted colours, as lit things are: half the way to grey.
	grey := 0.3 + 0.4*rng.Float64()
	base := [3]float64{(grey + rng.Float64()) / 2, (grey + rng.Float64()) / 2, (grey + rng.Float64()) / 2}
	round := rng.IntN(3) == 0
	for y := y0; y < y0+oh; y++ {
		for x := x0; x < x0+ow; x++ {
			u := (float64(x-x0) + 0.5) / float64(ow)
			v := (float64(y-y0) + 0.5) / float64(oh)
			d := math.Min(math.Min(u, 1-u), math.Min(v, 1-v)) * math.Min(float64(ow), float64(oh))
			if round {
				r := math.Hypot(u-0.5, v-0.5) * 2
				if r > 1 {
					continue
				}
				d = (1 - r) * math.Min(float64(ow), float64(oh)) / 2
			}
			shade := 0.55 + 0.45*(1-(u+v)/2) + 0.5*(fabric.at(float64(x), float64(y))-0.5)
			if d < 2 {
				shade *= 0.35 // the rim
			}
			img.SetRGBA(x, y, color.RGBA{clamp8(base[0] * shade), clamp8(base[1] * shade), clamp8(base[2] * shade), 255})
		}
	}
}

func clamp8(v float64) uint8 {
	return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
}

// fractal is value noise summed over octaves: a lattice of random values at
// cell sizes from size down by halves, smoothly interpolated, each octave
// weighted by persistence times the one before. at returns values in [0, 1].
type fractal struct {
	octaves []noiseOctave
	norm    float64
}

type noiseOctave struct {
	cell   float64
	weight float64
	grid   [latticeSize * latticeSize]float64
}

const latticeSize = 256 // lattice points per side; the pattern repeats beyond

func newFractal(rng *rand.Rand, size float64, octaves int, persistence float64) *fractal {
	f := &fractal{}
	weight := 1.0
	for range octaves {
		o := noiseOctave{cell: size, weight: weight}
		for i := range o.grid {
			o.grid[i] = rng.Float64()
		}
		f.octaves = append(f.octaves, o)
		f.norm += weight
		size, weight = max(size/2, 1), weight*persistence
	}
	return f
}

func (f *fractal) at(x, y float64) float64 {
	sum := 0.0
	for i := range f.octaves {
		o := &f.octaves[i]
		sum += o.weight * o.at(x/o.cell, y/o.cell)
	}
	return sum / f.norm
}

func (o *noiseOctave) at(x, y float64) float64 {
	xi, yi := math.Floor(x), math.Floor(y)
	tx, ty := smooth(x-xi), smooth(y-yi)
	i0, j0 := int(xi)&(latticeSize-1), int(yi)&(latticeSize-1)
	i1, j1 := (i0+1)&(latticeSize-1), (j0+1)&(latticeSize-1)
	v00, v10 := o.grid[j0*latticeSize+i0], o.grid[j0*latticeSize+i1]
	v01, v11 := o.grid[j1*latticeSize+i0], o.grid[j1*latticeSize+i1]
	top := v00 + (v10-v00)*tx
	bottom := v01 + (v11-v01)*tx
	return top + (bottom-top)*ty
}

func smooth(t float64) float64 { return t * t * (3 - 2*t) }
