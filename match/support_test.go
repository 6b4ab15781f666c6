package match

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// offersAt feeds frames of lines to an Evaluator of the default rules, one
// frame a second, and returns the media times at which counterfeit-offer
// held.
func offersAt(t *testing.T, frames ...[]Line) []int64 {
	t.Helper()
	ev := NewEvaluator(DefaultRules(), nil, "")
	var at []int64
	for i, ls := range frames {
		ms := int64(i) * 1000
		for _, h := range ev.Observe(ms, ls) {
			if h.Rule == "counterfeit-offer" {
				require.Equal(t, []string{"prada"}, h.Brands)
				at = append(at, ms)
			}
		}
	}
	return at
}

func line(text string, confidence float64, engine string) Line {
	return Line{Text: text, Confidence: confidence, Engine: engine}
}

func TestWeakBrandNeedsSupport(t *testing.T) {
	replica := line("1:1 replica", 92, "tesseract")
	junk := line("Rada", 21, "tesseract") // the false alert of issue 14
	tests := []struct {
		name   string
		frames [][]Line
		want   []int64
	}{
		{"junk fuzzy reading alone", [][]Line{{junk, replica}}, nil},
		{"the same junk reading kept over frames", [][]Line{{junk, replica}, {junk, replica}, {junk, replica}}, nil},
		{"a look-alike on a poor reading alone", [][]Line{{line("PR4DA", 40, "tesseract"), replica}, {line("PR4DA", 40, "tesseract"), replica}}, nil},
		{"a fuzzy reading read well counts", [][]Line{{line("Pradda", 91, "tesseract"), replica}}, []int64{0}},
		{"a look-alike read well counts", [][]Line{{line("PR4DA", 88, "tesseract"), replica}}, []int64{0}},
		{"an exact spelling counts at any confidence", [][]Line{{line("Prada", 21, "tesseract"), replica}}, []int64{0}},
		{"an exact spelling in an earlier frame supports", [][]Line{{line("PRADA bags", 95, "tesseract")}, {junk, replica}}, []int64{1000}},
		{"an exact spelling on another line supports", [][]Line{{junk, line("PRADA", 95, "tesseract"), replica}}, []int64{0}},
		{"another reading in another frame supports", [][]Line{{junk, replica}, {line("Prad4", 35, "tesseract"), replica}}, []int64{1000}},
		{"another engine supports", [][]Line{{junk, line("Rada", 30, "ppocr"), replica}}, []int64{0}},
		{"support beyond the window does not count", [][]Line{{line("Prad4", 35, "tesseract")}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {junk, replica}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, offersAt(t, tc.frames...))
		})
	}
}

func TestWeakBrandsAreFoundByTheMatcher(t *testing.T) {
	res := NewMatcher(DefaultRules()).Match("Rada")
	require.Equal(t, []string{"prada"}, res.Brands, "the junk reading does match Prada: the evaluator must hold it back")
	require.True(t, res.Spans[0].How.Weak(21))
	require.False(t, res.Spans[0].How.Weak(WeakConfidence))
	require.False(t, HowExact.Weak(0))
	require.False(t, HowNormalised.Weak(0))
	require.True(t, HowLookalike.Weak(WeakConfidence-1))
}
