package lines

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChurnRemembersWhereLinesWent: a place where lines went twice counts
// as texture for a few keyframes, or until a line stays there; once is not
// texture, and a place far from it never is.
func TestChurnRemembersWhereLinesWent(t *testing.T) {
	bounds := image.Rect(0, 0, 720, 1280)
	line := image.Rect(100, 600, 400, 650)
	beside := image.Rect(120, 640, 420, 690)
	far := image.Rect(100, 100, 400, 150)
	tests := []struct {
		name    string
		kept    bool // whether a line stays there in the keyframe after the loss
		texture []bool
	}{
		{"lost", false, []bool{true, true, false, false}},
		{"a line stays", true, []bool{true, false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Churn
			require.False(t, c.Texture(bounds, line), "nothing learnt")
			c.Learn(bounds, []image.Rectangle{line}, nil)
			require.False(t, c.Texture(bounds, beside), "one line went")
			c.Learn(bounds, []image.Rectangle{line}, nil)
			var got []bool
			for i := range tc.texture {
				got = append(got, c.Texture(bounds, beside))
				require.False(t, c.Texture(bounds, far))
				var kept []image.Rectangle
				if tc.kept && i == 0 {
					kept = []image.Rectangle{beside}
				}
				c.Learn(bounds, nil, kept)
			}
			require.Equal(t, tc.texture, got)
		})
	}
}
