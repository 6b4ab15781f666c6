package clipgen

import (
	"fmt"
	"strings"
)

// Limits of a sticker's motion, as normalize checks them.
const (
	maxAngle  = 45
	maxTilt   = 0.6
	maxJitter = 100
)

// sticker reports whether cp is drawn on a layer of its own (Angle, Tilt or Jitter).
func (cp Caption) sticker() bool {
	return cp.Angle != 0 || cp.Tilt != 0 || cp.Jitter != 0
}

// checkMotion says what is wrong with cp's animation and sticker fields, "" when nothing.
func checkMotion(cp Caption) string {
	switch {
	case cp.SizeTo < 0:
		return "negative size_to"
	case cp.Angle < -maxAngle || cp.Angle > maxAngle:
		return fmt.Sprintf("angle %g out of -%d..%d", cp.Angle, maxAngle, maxAngle)
	case cp.Tilt < 0 || cp.Tilt > maxTilt:
		return fmt.Sprintf("tilt %g out of 0..%g", cp.Tilt, maxTilt)
	case cp.Jitter < 0 || cp.Jitter > maxJitter:
		return fmt.Sprintf("jitter %d out of 0..%d", cp.Jitter, maxJitter)
	case cp.sticker() && cp.ScrollPxPerS > 0:
		return "a sticker (angle, tilt, jitter) does not scroll"
	}
	return ""
}

// writeSticker ends the picture's chain in g at pad [b<i>], draws caption i of c
// (its drawtext options opts, centred) on a transparent layer [s<i>] as wide as
// the frame, warps and rotates the layer, and overlays it, centred at the
// caption's X and Y, while enable holds; the chain goes on from the overlay.
func writeSticker(g *strings.Builder, c Clip, i int, opts []string, enable string) {
	cp := c.Captions[i]
	lines := strings.Count(cp.Text, "\n") + 1
	size := max(cp.Size, cp.SizeTo)
	// Room for every line, the box around them, the outline and the shadow.
	h := lines*size*3/2 + 2*max(size/4, 1) + 2*cp.Border + cp.Shadow + 16
	h += h % 2
	fmt.Fprintf(g, "[b%d];color=c=black@0:size=%dx%d:rate=%d,format=rgba,drawtext=%s", i, c.Width, h, c.FPS, strings.Join(opts, ":"))
	if cp.Tilt > 0 {
		// The layer's corners go to these points: the right edge shrinks about its middle.
		fmt.Fprintf(g, ",perspective=x0=0:y0=0:x1=W:y1=%[1]s:x2=0:y2=H:x3=W:y3=%[2]s:sense=destination",
			filterValue(fmt.Sprintf("H*%g", cp.Tilt/2)), filterValue(fmt.Sprintf("H*%g", 1-cp.Tilt/2)))
	}
	angle := fmt.Sprintf("%g", cp.Angle)
	x, y := "("+cp.X+")-w/2", "("+cp.Y+")-h/2"
	if cp.Jitter > 0 {
		// Incommensurate periods, so the shake does not look like a loop.
		angle += fmt.Sprintf("+%g*sin(2*PI*0.7*t)", float64(cp.Jitter)/4)
		x += fmt.Sprintf("+%d*sin(2*PI*1.3*t)", cp.Jitter)
		y += fmt.Sprintf("+%d*sin(2*PI*0.9*t+1)", cp.Jitter)
	}
	fmt.Fprintf(g, ",rotate=a=%s:c=none:ow=%s:oh=ow[s%d];[b%d][s%d]overlay=x=%s:y=%s:%s",
		filterValue("("+angle+")*PI/180"), filterValue("hypot(iw,ih)"), i, i, i, filterValue(x), filterValue(y), enable)
}
