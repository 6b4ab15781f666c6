package lines

import "image"

// grid is a coarse grid of counters over a frame: where lines keep coming
// and going in a busy background, which moves and boils, so that a line is
// seldom where the one before was.
type grid struct {
	bounds image.Rectangle // of the frames the grid covers
	cell   int             // side of a cell, in pixels
	cols   int
	heat   []uint8 // per cell
}

// cellsPerSide is how many cells span the short side of a frame.
const cellsPerSide = 12

// fit makes the grid cover bounds, cleared, if it covers other bounds; it
// reports whether it did.
func (g *grid) fit(bounds image.Rectangle) bool {
	if bounds.Eq(g.bounds) {
		return false
	}
	g.bounds = bounds
	g.cell = max(16, min(bounds.Dx(), bounds.Dy())/cellsPerSide)
	g.cols = (bounds.Dx() + g.cell - 1) / g.cell
	g.heat = make([]uint8, g.cols*((bounds.Dy()+g.cell-1)/g.cell))
	return true
}

// near reports whether cell i or one of its neighbours has at least hot:
// a texture's "lines" come and go around where the ones before were.
func (g *grid) near(i int, hot uint8) bool {
	for _, j := range g.neighbourhood(i) {
		if g.heat[j] >= hot {
			return true
		}
	}
	return false
}

// neighbourhood returns cell i and its neighbours.
func (g *grid) neighbourhood(i int) []int {
	rows := len(g.heat) / g.cols
	cx, cy := i%g.cols, i/g.cols
	out := make([]int, 0, 9)
	for y := max(cy-1, 0); y <= min(cy+1, rows-1); y++ {
		for x := max(cx-1, 0); x <= min(cx+1, g.cols-1); x++ {
			out = append(out, y*g.cols+x)
		}
	}
	return out
}

// clearNear zeroes cell i and its neighbours.
func (g *grid) clearNear(i int) {
	for _, j := range g.neighbourhood(i) {
		g.heat[j] = 0
	}
}

// mostlyNear reports whether at least half of box's cells are near (see
// near) cells with at least hot.
func (g *grid) mostlyNear(box image.Rectangle, hot uint8) bool {
	cells := g.cells(box)
	n := 0
	for _, i := range cells {
		if g.near(i, hot) {
			n++
		}
	}
	return len(cells) > 0 && 2*n >= len(cells)
}

// cells returns the indices of the cells whose centres lie in box, or the
// cell of box's centre when there are none (a line thinner than a cell).
func (g *grid) cells(box image.Rectangle) []int {
	box = box.Intersect(g.bounds)
	if box.Empty() || g.cell == 0 {
		return nil
	}
	b := box.Sub(g.bounds.Min)
	half := g.cell / 2
	var out []int
	for cy := b.Min.Y / g.cell; cy*g.cell+half < b.Max.Y; cy++ {
		if cy*g.cell+half < b.Min.Y {
			continue
		}
		for cx := b.Min.X / g.cell; cx*g.cell+half < b.Max.X; cx++ {
			if cx*g.cell+half >= b.Min.X {
				out = append(out, cy*g.cols+cx)
			}
		}
	}
	if len(out) == 0 {
		c := b.Min.Add(b.Max).Div(2)
		out = append(out, (c.Y/g.cell)*g.cols+c.X/g.cell)
	}
	return out
}
