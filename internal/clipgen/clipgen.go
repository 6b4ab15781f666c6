// Package clipgen makes video clips with burned-in captions at known times, and their ground truth.
package clipgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrInvalidClip is returned, wrapped, when a Clip or one of its captions cannot be rendered as asked.
	ErrInvalidClip = errors.New("clipgen: invalid clip")
	// ErrUnknownFont is returned, wrapped, by FontFile for a key it does not know.
	ErrUnknownFont = errors.New("clipgen: unknown font key")
	// ErrFontMissing is returned, wrapped, by FontFile when no file for a known key is installed.
	ErrFontMissing = errors.New("clipgen: font not installed")
)

// Defaults applied by Generate to zero fields.
const (
	DefaultWidth       = 720 // vertical, like live shopping on a phone
	DefaultHeight      = 1280
	DefaultFPS         = 25
	DefaultCRF         = 28
	DefaultSize        = 48
	DefaultColor       = "white"
	DefaultBorderColor = "black"
	defaultBG          = "color=c=0x1e2430"
	gopSeconds         = 2
	stderrTailLines    = 12
)

// Caption is one text burned into a Clip from StartMS (inclusive) to EndMS (exclusive),
// together with what a correct pipeline should make of it.
type Caption struct {
	// Text is burned in exactly as given: UTF-8, may hold Chinese and newlines; no
	// drawtext expansion (%{…}) or escape processing is applied to it.
	Text    string `json:"text"`
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	// Font is a FontFile key; default "cjk" when Text holds Han, kana or Hangul, else "sans".
	// A non-CJK font with CJK text is refused, since it would render empty boxes.
	Font string `json:"font,omitempty"`
	// Size is the font size in pixels; default 48.
	Size int `json:"size,omitempty"`
	// Color is an ffmpeg colour for the glyphs; default "white".
	Color string `json:"color,omitempty"`
	// Box is the colour, with alpha, of a box behind the text ("black@0.6"); "" draws none.
	Box string `json:"box,omitempty"`
	// Border is the outline width in pixels; 0 draws none.
	Border int `json:"border,omitempty"`
	// BorderColor is the outline colour; default "black".
	BorderColor string `json:"border_color,omitempty"`
	// Shadow is the drop-shadow offset in pixels (right and down); 0 draws none.
	Shadow int `json:"shadow,omitempty"`
	// X and Y are drawtext expressions for the top-left corner of the text (w, h, tw, th, t
	// are defined); default centred horizontally and centred vertically on 75% of the height.
	// For a sticker (below) they place the sticker's centre instead: overlay expressions
	// of W and H (the frame) and t; default W/2 and H*3/4.
	X string `json:"x,omitempty"`
	Y string `json:"y,omitempty"`
	// ScrollPxPerS > 0 makes a marquee: the text enters at the right edge at StartMS and
	// moves left at this speed. X must then be empty.
	ScrollPxPerS int `json:"scroll_px_per_s,omitempty"`
	// SizeTo > 0 animates the font size from Size at StartMS to SizeTo at EndMS: a
	// caption that grows or shrinks while it is shown.
	SizeTo int `json:"size_to,omitempty"`

	// Angle, Tilt and Jitter make the caption a sticker: the text (with its box, border
	// and shadow) is drawn on a transparent layer of its own, which is warped, rotated
	// about its centre and laid over the picture. Angle turns it by this many degrees,
	// clockwise (-45..45).
	Angle float64 `json:"angle,omitempty"`
	// Tilt (0..0.6) turns the sticker away from the camera like a sign held at an
	// angle: its right edge is this fraction shorter than its left.
	Tilt float64 `json:"tilt,omitempty"`
	// Jitter > 0 makes the sticker hand-held: it shakes by up to this many pixels and
	// turns by up to Jitter/4 degrees around Angle.
	Jitter int `json:"jitter,omitempty"`

	// Brand is the brand id the default rules should find in Text ("gucci"), "" when none.
	Brand string `json:"brand"`
	// Phrase is the counterfeit-indicator phrase id the default rules should find ("replica"), "" when none.
	Phrase string `json:"phrase"`
	// Counterfeit is true when the caption names a brand together with a counterfeit phrase,
	// i.e. when a brand+phrase rule should raise an alert while the caption is shown.
	Counterfeit bool `json:"counterfeit"`
}

// Revision changes whenever the same Clip generates another video (a fix):
// a cache of generated clips keyed by their spec keys by it too.
// 2: a photo background at another rate than 25 fps is no longer cut short;
// cellauto and life are seeded (they were random at each run).
const Revision = 2

// Clip describes a video to generate: a synthetic background and captions.
type Clip struct {
	// Name identifies the clip in ground truth and eval tables.
	Name string `json:"name"`
	// Width and Height in pixels, both even; default 720x1280.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// DurationMS is the length of the clip; required.
	DurationMS int64 `json:"duration_ms"`
	// FPS is the constant frame rate; default 25.
	FPS int `json:"fps,omitempty"`
	// Background is an ffmpeg source filter, optionally followed by a comma and more
	// filters: "" (a plain dark colour), "testsrc2", "smptebars", "cellauto" (busy,
	// moving), "mandelbrot", "gradients=speed=0.02", "color=c=0x336699",
	// "testsrc2,eq=brightness=-0.3". size and rate are added when not given, and the
	// result is scaled to Width x Height. "photo" (PhotoBackground) is clipgen's own: a
	// generated photograph-like picture, panned.
	Background string `json:"background,omitempty"`
	// Noise adds temporal noise of this strength (0..100) to the background, under the
	// captions, as a camera would; 0 adds none.
	Noise int `json:"noise,omitempty"`
	// CRF is the libx264 quality (0..51); default 28. BitrateKbps, when set, replaces it.
	CRF int `json:"crf,omitempty"`
	// BitrateKbps > 0 encodes at this average bitrate (kbit/s, VBV-capped at 1.5x
	// with a 2 s buffer) instead of at a constant quality, as a live encoder does.
	BitrateKbps int `json:"bitrate_kbps,omitempty"`
	// BFrames is the number of consecutive B-frames (x264 -bf, 0..16); 0 keeps
	// the preset's default (3).
	BFrames int `json:"b_frames,omitempty"`
	// Captions are drawn in order, later ones on top.
	Captions []Caption `json:"captions"`
	// Category groups clips in eval tables: "plain", "outline", "busy", "chinese", "negative"…
	Category string `json:"category,omitempty"`
	// HeldOut marks a clip of the eval corpus's held-out set: made before any tuning
	// and not tuned on afterwards; eval tables show its categories apart.
	HeldOut bool `json:"held_out,omitempty"`
}

// Truth is the ground truth written next to a generated clip: the clip's geometry and
// its captions with every default filled in.
type Truth struct {
	Clip       string    `json:"clip"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	DurationMS int64     `json:"duration_ms"`
	FPS        int       `json:"fps"`
	Category   string    `json:"category"`
	Captions   []Caption `json:"captions"`
}

// TruthPath returns where Generate writes the ground truth of a clip written to outPath:
// outPath without its extension, plus ".truth.json".
func TruthPath(outPath string) string {
	return strings.TrimSuffix(outPath, filepath.Ext(outPath)) + ".truth.json"
}

// Generate renders c with ffmpeg into outPath (H.264 in the container its extension
// names, no audio, a keyframe every 2 s) and writes the ground truth to TruthPath(outPath).
// Both files are replaced atomically. The error of a failed ffmpeg run ends with the
// last lines ffmpeg wrote to stderr.
func Generate(ctx context.Context, c Clip, outPath string) (Truth, error) {
	if err := ctx.Err(); err != nil {
		return Truth{}, err
	}
	c, err := normalize(c)
	if err != nil {
		return Truth{}, err
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}

	textDir, err := os.MkdirTemp("", "clipgen-")
	if err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}
	defer os.RemoveAll(textDir)
	textFiles := make([]string, len(c.Captions))
	for i, cp := range c.Captions {
		// A text file spares the caption every level of filtergraph escaping.
		p := filepath.Join(textDir, fmt.Sprintf("caption%d.txt", i))
		if err := os.WriteFile(p, []byte(cp.Text), 0o600); err != nil {
			return Truth{}, fmt.Errorf("clipgen: %w", err)
		}
		textFiles[i] = p
	}
	photo := ""
	if spec, ok, _ := parsePhoto(c.Background); ok { // normalize checked the arguments
		photo = filepath.Join(textDir, "photo.png")
		if err := writePhoto(photo, c.Width, c.Height, spec); err != nil {
			return Truth{}, err
		}
	}
	graph, err := filterGraph(c, textFiles, photo)
	if err != nil {
		return Truth{}, err
	}

	// The temporary file sits beside outPath, so the final rename stays on one file system.
	dir, base := filepath.Dir(outPath), filepath.Base(outPath)
	ext := filepath.Ext(base)
	tmp, err := os.CreateTemp(dir, "."+strings.TrimSuffix(base, ext)+"-*"+ext)
	if err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}
	tmpPath := tmp.Name()
	err = tmp.Chmod(0o644) // CreateTemp makes 0600; the clip is meant to be shared
	tmp.Close()
	if err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}
	defer os.Remove(tmpPath) // a no-op once renamed

	frames := (c.DurationMS*int64(c.FPS) + 999) / 1000
	args := []string{
		"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-filter_complex", graph,
		"-map", "[v]",
		"-frames:v", fmt.Sprint(frames),
		"-an",
	}
	args = append(args, rateArgs(c)...)
	args = append(args,
		"-pix_fmt", "yuv420p",
		// A fixed GOP, so keyframe-only sampling sees a frame every gopSeconds.
		"-g", fmt.Sprint(gopSeconds*c.FPS), "-keyint_min", fmt.Sprint(gopSeconds*c.FPS), "-sc_threshold", "0",
		"-movflags", "+faststart",
		"-threads", "2",
		// Frame-threaded x264 gave slightly different pixels from run to run here;
		// slice threads are repeatable, so a regenerated clip equals the committed one.
		"-x264-params", "sliced-threads=1",
		tmpPath,
	)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return Truth{}, fmt.Errorf("clipgen: ffmpeg %s: %w%s", c.Name, err, stderr.lastLines(stderrTailLines))
	}

	t := Truth{
		Clip:       c.Name,
		Width:      c.Width,
		Height:     c.Height,
		DurationMS: c.DurationMS,
		FPS:        c.FPS,
		Category:   c.Category,
		Captions:   c.Captions,
	}
	js, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}
	if err := writeFileAtomic(TruthPath(outPath), append(js, '\n')); err != nil {
		return Truth{}, err
	}
	if err := os.Rename(tmpPath, outPath); err != nil {
		return Truth{}, fmt.Errorf("clipgen: %w", err)
	}
	return t, nil
}

// rateArgs are the encoder's quality or bitrate and B-frame options for c.
func rateArgs(c Clip) []string {
	args := []string{"-c:v", "libx264", "-preset", "veryfast"}
	if c.BitrateKbps > 0 {
		args = append(args, "-b:v", fmt.Sprintf("%dk", c.BitrateKbps),
			"-maxrate", fmt.Sprintf("%dk", c.BitrateKbps*3/2), "-bufsize", fmt.Sprintf("%dk", c.BitrateKbps*2))
	} else {
		args = append(args, "-crf", fmt.Sprint(c.CRF))
	}
	if c.BFrames > 0 {
		args = append(args, "-bf", fmt.Sprint(c.BFrames))
	}
	return args
}

// normalize checks c and fills in its defaults; the result is what Truth records.
func normalize(c Clip) (Clip, error) {
	bad := func(format string, a ...any) (Clip, error) {
		return Clip{}, fmt.Errorf("%w: %s: %s", ErrInvalidClip, c.Name, fmt.Sprintf(format, a...))
	}
	if c.Width == 0 {
		c.Width = DefaultWidth
	}
	if c.Height == 0 {
		c.Height = DefaultHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.CRF == 0 {
		c.CRF = DefaultCRF
	}
	switch {
	case c.Width < 16 || c.Height < 16 || c.Width > 8192 || c.Height > 8192:
		return bad("size %dx%d out of 16..8192", c.Width, c.Height)
	case c.Width%2 != 0 || c.Height%2 != 0:
		return bad("size %dx%d must be even for yuv420p", c.Width, c.Height)
	case c.DurationMS <= 0:
		return bad("duration_ms %d must be positive", c.DurationMS)
	case c.FPS < 1 || c.FPS > 120:
		return bad("fps %d out of 1..120", c.FPS)
	case c.CRF < 0 || c.CRF > 51:
		return bad("crf %d out of 0..51", c.CRF)
	case c.Noise < 0 || c.Noise > 100:
		return bad("noise %d out of 0..100", c.Noise)
	case c.BitrateKbps < 0 || c.BitrateKbps > 200_000:
		return bad("bitrate_kbps %d out of 0..200000", c.BitrateKbps)
	case c.BFrames < 0 || c.BFrames > 16:
		return bad("b_frames %d out of 0..16", c.BFrames)
	}
	if _, _, err := parsePhoto(c.Background); err != nil {
		return bad("%v", err)
	}
	caps := make([]Caption, len(c.Captions))
	for i, cp := range c.Captions {
		badCap := func(format string, a ...any) (Clip, error) {
			return bad("caption %d %q: %s", i, cp.Text, fmt.Sprintf(format, a...))
		}
		switch {
		case strings.TrimSpace(cp.Text) == "":
			return badCap("empty text")
		case !utf8.ValidString(cp.Text):
			return badCap("text is not UTF-8")
		case cp.StartMS < 0 || cp.EndMS <= cp.StartMS || cp.EndMS > c.DurationMS:
			return badCap("times [%d,%d) not within [0,%d]", cp.StartMS, cp.EndMS, c.DurationMS)
		case cp.Size < 0 || cp.Border < 0 || cp.Shadow < 0 || cp.ScrollPxPerS < 0:
			return badCap("negative size, border, shadow or scroll")
		case cp.ScrollPxPerS > 0 && cp.X != "":
			return badCap("x and scroll_px_per_s exclude each other")
		case cp.Counterfeit && (cp.Brand == "" || cp.Phrase == ""):
			return badCap("counterfeit needs both brand and phrase")
		}
		if msg := checkMotion(cp); msg != "" {
			return badCap("%s", msg)
		}
		cjk := hasCJK(cp.Text)
		if cp.Font == "" {
			cp.Font = "sans"
			if cjk {
				cp.Font = "cjk"
			}
		}
		if cjk && !filepath.IsAbs(cp.Font) && !isCJKKey(cp.Font) {
			return badCap("font %q has no CJK glyphs; use one of %v", cp.Font, cjkKeys)
		}
		if _, err := FontFile(cp.Font); err != nil {
			return badCap("%v", err)
		}
		if cp.Size == 0 {
			cp.Size = DefaultSize
		}
		if cp.Color == "" {
			cp.Color = DefaultColor
		}
		if cp.Border > 0 && cp.BorderColor == "" {
			cp.BorderColor = DefaultBorderColor
		}
		switch {
		case cp.ScrollPxPerS > 0:
			cp.X = fmt.Sprintf("w-(t-%.3f)*%d", float64(cp.StartMS)/1000, cp.ScrollPxPerS)
		case cp.X == "" && cp.sticker():
			cp.X = "W/2"
		case cp.X == "":
			cp.X = "(w-tw)/2"
		}
		switch {
		case cp.Y == "" && cp.sticker():
			cp.Y = "H*3/4"
		case cp.Y == "":
			cp.Y = "h*3/4-th/2"
		}
		caps[i] = cp
	}
	c.Captions = caps
	return c, nil
}

func isCJKKey(k string) bool {
	for _, c := range cjkKeys {
		if k == c {
			return true
		}
	}
	return false
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("clipgen: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("clipgen: write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("clipgen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("clipgen: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("clipgen: %w", err)
	}
	return nil
}

// tailBuffer keeps the last bytes written to it, enough for ffmpeg's final complaints.
type tailBuffer struct{ b []byte }

const tailMax = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

// lastLines returns the last n non-empty lines as ": l1; l2; …", or "" when there are none.
func (t *tailBuffer) lastLines(n int) string {
	var lines []string
	for _, l := range bytes.Split(t.b, []byte("\n")) {
		if s := strings.TrimSpace(string(l)); s != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return ": " + strings.Join(lines, "; ")
}
