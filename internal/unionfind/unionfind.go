// Package unionfind is a disjoint-set forest over the elements 0..n-1, for
// labelling connected components (text-line spans in the detector, pixels of
// one class in a line crop). Its memory is reused from one Reset to the next,
// so a caller that labels every frame allocates only while its sets grow.
package unionfind

// Sets partitions 0..n-1 into disjoint sets. The root of a set is always its
// smallest element, so a caller that walks the elements in order meets each
// set's root before any other member. The zero value holds no elements.
type Sets struct {
	parent []int32
}

// Reset makes each of 0..n-1 a set of its own, reusing the memory of earlier
// sets when it is large enough.
func (s *Sets) Reset(n int) {
	if cap(s.parent) < n {
		s.parent = make([]int32, n)
	}
	s.parent = s.parent[:n]
	for i := range s.parent {
		s.parent[i] = int32(i)
	}
}

// Find returns the root of i's set, halving the path to it on the way.
func (s *Sets) Find(i int) int {
	p := s.parent
	for int(p[i]) != i {
		p[i] = p[p[i]]
		i = int(p[i])
	}
	return i
}

// Union joins the sets of a and b; the smaller root becomes the root of both.
func (s *Sets) Union(a, b int) {
	ra, rb := s.Find(a), s.Find(b)
	switch {
	case ra < rb:
		s.parent[rb] = int32(ra)
	case rb < ra:
		s.parent[ra] = int32(rb)
	}
}

// Roots points every element directly at its root and returns the forest:
// element i's root is Roots()[i]. The slice is the forest's own memory, which
// the caller may overwrite (as labels, say: a root's entry is read before any
// later member's) until the next Reset.
func (s *Sets) Roots() []int32 {
	for i := range s.parent {
		s.parent[i] = int32(s.Find(i))
	}
	return s.parent
}
