package lines

import (
	"image"
	"slices"
)

// mergeLines unites candidates that overlap or that continue one another on
// the same line (words of one caption found apart, or one line found at two
// pyramid levels).
func mergeLines(cs []cand) []cand {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(cs); i++ {
			for j := i + 1; j < len(cs); j++ {
				if sameLine(cs[i].r, cs[j].r) {
					cs[i].r = cs[i].r.Union(cs[j].r)
					cs[i].score += cs[j].score
					cs[i].parts += cs[j].parts
					cs[i].fineParts += cs[j].fineParts
					cs = slices.Delete(cs, j, j+1)
					changed = true
					j--
				}
			}
		}
	}
	return cs
}

func sameLine(a, b image.Rectangle) bool {
	if a.Overlaps(b) {
		return true
	}
	lo, hi := min(a.Dy(), b.Dy()), max(a.Dy(), b.Dy())
	ov := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	switch {
	case 2*ov < lo:
		return false
	case 2*lo < hi && 5*ov < 4*lo:
		// Of very different heights (a digit or a mark next to a word
		// with ascenders and descenders), the small one must lie within the
		// big one's rows.
		return false
	}
	gap := max(a.Min.X, b.Min.X) - min(a.Max.X, b.Max.X)
	return gap <= hi
}

// bridgeThreshold is the edge threshold of bridge: low enough for text on a
// background nearly as light (or dark) as itself, such as white on yellow
// (a step of about 25 in luma), and still above compression noise.
const bridgeThreshold = 14

// bridge joins lines that lie on the same rows with a gap between them when
// the gap is filled with glyphs that the detector's edge threshold missed:
// part of a caption crossing a stretch of background almost as light as its
// text (white on yellow) loses its edges, and the line comes apart into the
// words on either side. The gap is searched on the lines' rows alone with a
// lower threshold, and joined only when strokes run along the whole of it
// (no stretch longer than a word space without one) and the rows beyond
// the line, above and below, are quiet at that threshold: otherwise the
// low threshold is only seeing texture or noise.
func (s *scratch) bridge(src plane, cs []cand) []cand {
	if len(cs) < 2 {
		return cs
	}
	slices.SortFunc(cs, func(a, b cand) int { return a.r.Min.X - b.r.Min.X })
	for joined := true; joined; {
		joined = false
		for i := 0; i < len(cs) && !joined; i++ {
			for j := i + 1; j < len(cs); j++ {
				a, b := cs[i].r, cs[j].r
				if b.Min.X <= a.Max.X || !s.bridged(src, a, b) {
					continue
				}
				cs[i].r = a.Union(b)
				cs[i].score += cs[j].score
				cs[i].parts += cs[j].parts
				cs[i].fineParts += cs[j].fineParts
				cs = slices.Delete(cs, j, j+1)
				joined = true
				break
			}
		}
	}
	return mergeLines(cs)
}

// bridged reports whether a, left of b on the same rows, are parts of one
// line: see bridge.
func (s *scratch) bridged(src plane, a, b image.Rectangle) bool {
	lo, hi := min(a.Dy(), b.Dy()), max(a.Dy(), b.Dy())
	y0, y1 := max(a.Min.Y, b.Min.Y), min(a.Max.Y, b.Max.Y)
	// Of about one height, and mostly on the same rows.
	if 4*lo < 3*hi || 4*(y1-y0) < 3*hi {
		return false
	}
	x0, x1 := a.Max.X, b.Min.X
	if x1-x0 <= hi || x1-x0 > 12*hi {
		// Short gaps are mergeLines' to join; wide ones hold no caption.
		return false
	}
	width := max(3, hi/4)
	// Strokes per column, over the shared rows.
	cols := make([]int32, x1-x0)
	strokeCols := func(y int, mark bool) int {
		tr := s.supportedRow(src, y, x0, x1, bridgeThreshold)
		n := 0
		for k := 1; k < len(tr); k++ {
			p, q := tr[k-1], tr[k]
			if (p^q)&1 == 1 && int(q>>1-p>>1) <= width {
				n++
				if mark {
					for x := int(p >> 1); x <= int(q>>1); x++ {
						cols[x-x0]++
					}
				}
			}
		}
		return n
	}
	inside := 0
	for y := y0; y < y1; y++ {
		inside += strokeCols(y, true)
	}
	// Rows beyond ascenders and descenders, as many as the line has.
	outside, rows := 0, 0
	for k := 0; k < y1-y0; k++ {
		for _, y := range [2]int{y0 - hi/2 - 1 - k, y1 + hi/2 + k} {
			if y >= 1 && y < src.h-1 {
				outside += strokeCols(y, false)
				rows++
			}
		}
	}
	if rows > 0 && 4*outside*(y1-y0) > inside*rows {
		return false
	}
	// Text has a stroke in most rows every letter or two.
	if inside*hi < (x1-x0)*(y1-y0)/2 {
		return false
	}
	run := 0
	for _, c := range cols {
		if c > 0 {
			run = 0
			continue
		}
		if run++; 4*run > 3*hi {
			return false
		}
	}
	return true
}
