package unionfind

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSets(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		unions [][2]int
		roots  []int32
	}{
		{name: "no unions leave singletons", n: 4, roots: []int32{0, 1, 2, 3}},
		{name: "smallest element is the root", n: 5, unions: [][2]int{{4, 2}, {3, 4}, {1, 3}}, roots: []int32{0, 1, 1, 1, 1}},
		{name: "chains join through their roots", n: 6, unions: [][2]int{{0, 1}, {4, 5}, {5, 1}, {2, 3}}, roots: []int32{0, 0, 2, 2, 0, 0}},
		{name: "a union of a set with itself changes nothing", n: 3, unions: [][2]int{{1, 2}, {2, 1}, {2, 2}}, roots: []int32{0, 1, 1}},
		{name: "empty", n: 0, roots: []int32{}},
	}
	var s Sets
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset(tc.n)
			for _, u := range tc.unions {
				s.Union(u[0], u[1])
			}
			for i, r := range tc.roots {
				require.Equal(t, int(r), s.Find(i), "find %d", i)
			}
			require.Equal(t, tc.roots, s.Roots())
		})
	}
}

func TestResetReusesMemory(t *testing.T) {
	var s Sets
	s.Reset(64)
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset(32)
		s.Union(3, 31)
		_ = s.Find(31) // the result is checked in TestSets
		s.Reset(64)
	})
	require.Zero(t, allocs)
}

func BenchmarkLabelRow(b *testing.B) {
	var s Sets
	b.ReportAllocs()
	for b.Loop() {
		s.Reset(1024)
		for i := 1; i < 1024; i++ {
			if i%7 != 0 {
				s.Union(i-1, i)
			}
		}
		s.Roots()
	}
}
