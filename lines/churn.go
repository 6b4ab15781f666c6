package lines

import "image"

// Churn remembers where a stream's keyframes show text lines that come and
// go: the "lines" a busy background makes (cellular automata, noise, a
// crowd) are seldom in the next keyframe, while a caption stays for
// seconds. The keyframe judge asks it whether a line new or gone in a
// keyframe lies where lines came and went before, so that a texture does
// not have a stream decoded densely around every keyframe. It learns from
// the pictures alone (what the judge matched), so a replay decodes alike.
// A Churn belongs to one stream; the zero value is ready.
type Churn struct {
	grid // per cell: keyframes left that it counts as churning
}

// churnKeyframes is how many keyframes a line's going counts for at a
// place, unless a line stays there: a place churns when lines went there
// twice within that many (a caption shown between two keyframes only, and
// the next one in its place, are not texture).
const churnKeyframes = 3

// Texture reports whether box, in a frame of bounds, lies mostly where (or
// next to where) lines went twice within churnKeyframes keyframes, lately.
func (c *Churn) Texture(bounds, box image.Rectangle) bool {
	c.fit(bounds)
	return c.mostlyNear(box, churnKeyframes+1)
}

// Learn counts one keyframe of bounds against the one before: lost are
// that one's lines not in it, kept its lines that are in both. A kept
// line's cells and their neighbours stop churning (so that its end is not
// taken for texture's).
func (c *Churn) Learn(bounds image.Rectangle, lost, kept []image.Rectangle) {
	c.fit(bounds)
	for i, h := range c.heat {
		if h > 0 {
			c.heat[i] = h - 1
		}
	}
	for _, r := range lost {
		for _, i := range c.cells(r) {
			c.heat[i] = min(c.heat[i]+churnKeyframes, 2*churnKeyframes)
		}
	}
	for _, r := range kept {
		for _, i := range c.cells(r) {
			c.clearNear(i)
		}
	}
}
