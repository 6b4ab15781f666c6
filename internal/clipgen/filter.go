package clipgen

import (
	"fmt"
	"strings"
)

// lowRes lists generators that are slow or too fine at full size; they render at
// 1/divisor of the clip size and are scaled up, which also gives them bigger cells.
var lowRes = map[string]int{"cellauto": 4, "mandelbrot": 4, "life": 4}

// filterGraph returns the -filter_complex graph for a normalized clip: the background
// source, scaling, noise, one drawtext per caption, and the output pad [v].
// photo is the picture of a photo background, "" for the others.
func filterGraph(c Clip, textFiles []string, photo string) (string, error) {
	var g strings.Builder
	g.WriteString(background(c, photo))
	if c.Noise > 0 {
		fmt.Fprintf(&g, ",noise=alls=%d:allf=t", c.Noise)
	}
	for i, cp := range c.Captions {
		font, err := FontFile(cp.Font)
		if err != nil {
			return "", err
		}
		// Frame k is shown at k/FPS s; the caption covers the frames whose time is in [Start,End).
		first := (cp.StartMS*int64(c.FPS) + 999) / 1000
		end := (cp.EndMS*int64(c.FPS) + 999) / 1000
		enable := "enable=" + filterValue(fmt.Sprintf("gte(n,%d)*lt(n,%d)", first, end))
		if cp.sticker() {
			writeSticker(&g, c, i, drawtextOpts(cp, font, textFiles[i], "(w-tw)/2", "(h-th)/2"), enable)
			continue
		}
		g.WriteString(",drawtext=")
		g.WriteString(strings.Join(append(drawtextOpts(cp, font, textFiles[i], cp.X, cp.Y), enable), ":"))
	}
	g.WriteString(",format=yuv420p[v]")
	return g.String(), nil
}

// drawtextOpts are the drawtext options that draw cp with font from textFile at x, y.
func drawtextOpts(cp Caption, font, textFile, x, y string) []string {
	size := fmt.Sprint(cp.Size)
	if cp.SizeTo > 0 {
		size = filterValue(fmt.Sprintf("%d+%d*clip((t-%.3f)/%.3f,0,1)", cp.Size, cp.SizeTo-cp.Size,
			float64(cp.StartMS)/1000, float64(cp.EndMS-cp.StartMS)/1000))
	}
	opts := []string{
		"fontfile=" + filterValue(font),
		"textfile=" + filterValue(textFile),
		"expansion=none",
		"fontsize=" + size,
		"fontcolor=" + filterValue(cp.Color),
		"x=" + filterValue(x),
		"y=" + filterValue(y),
	}
	if cp.Box != "" {
		opts = append(opts, "box=1", "boxcolor="+filterValue(cp.Box), fmt.Sprintf("boxborderw=%d", max(cp.Size/4, 1)))
	}
	if cp.Border > 0 {
		opts = append(opts, fmt.Sprintf("borderw=%d", cp.Border), "bordercolor="+filterValue(cp.BorderColor))
	}
	if cp.Shadow > 0 {
		opts = append(opts, fmt.Sprintf("shadowx=%d:shadowy=%d", cp.Shadow, cp.Shadow), "shadowcolor=black@0.8")
	}
	return opts
}

// background returns the source chain of c, ending at c's size and frame rate;
// photo is where the picture of a photo background was written.
func background(c Clip, photo string) string {
	if spec, ok, err := parsePhoto(c.Background); ok && err == nil {
		return photoChain(c, spec, photo)
	}
	bg := c.Background
	if strings.TrimSpace(bg) == "" {
		bg = defaultBG
	}
	src, rest := splitTop(bg, ',')
	name, args, _ := strings.Cut(src, "=")
	name = strings.TrimSpace(name)
	keys := map[string]bool{}
	var parts []string
	if args != "" {
		parts = splitAll(args, ':')
		for _, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				keys[strings.TrimSpace(k)] = true
			}
		}
	}
	scaleFlags := ""
	if !keys["s"] && !keys["size"] {
		w, h := c.Width, c.Height
		if d := lowRes[name]; d > 1 {
			w, h = max(w/d, 2), max(h/d, 2)
			scaleFlags = ":flags=neighbor"
		}
		parts = append(parts, fmt.Sprintf("size=%dx%d", w, h))
	}
	if !keys["r"] && !keys["rate"] {
		parts = append(parts, fmt.Sprintf("rate=%d", c.FPS))
	}
	if (name == "cellauto" || name == "life") && !keys["seed"] && !keys["random_seed"] {
		// Their random fill is seeded afresh at each run otherwise: the same
		// clip came out another picture each time it was made.
		parts = append(parts, "seed=1")
	}
	if name == "cellauto" && !keys["start_full"] {
		// Without it the pattern grows one row per frame from an empty picture.
		parts = append(parts, "start_full=1")
	}
	var g strings.Builder
	g.WriteString(name + "=" + strings.Join(parts, ":"))
	if rest != "" {
		g.WriteString("," + rest)
	}
	fmt.Fprintf(&g, ",scale=%d:%d%s,setsar=1,fps=%d", c.Width, c.Height, scaleFlags, c.FPS)
	return g.String()
}

// splitTop splits s at the first sep that is neither backslash-escaped nor quoted,
// as ffmpeg's tokenizer sees it.
func splitTop(s string, sep byte) (string, string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '\'':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func splitAll(s string, sep byte) []string {
	var out []string
	for {
		head, rest := splitTop(s, sep)
		out = append(out, head)
		if len(head) == len(s) {
			return out
		}
		s = rest
	}
}

// filterValue escapes s for use as an option value in a filtergraph, where it is
// unescaped twice: first by the graph parser (which splits at [ ] , ;), then by the
// filter's option parser (which splits at :). Quoting the inner level keeps leading
// and trailing spaces.
func filterValue(s string) string {
	inner := "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	return graphEscaper.Replace(inner)
}

var graphEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `[`, `\[`, `]`, `\]`, `,`, `\,`, `;`, `\;`)
