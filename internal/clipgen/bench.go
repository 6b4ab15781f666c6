package clipgen

// Bench clip geometry, as issue #12's measurements name it.
const (
	benchCaptionStartMS = 25_000
	benchCaptionEndMS   = 40_000
)

// BenchClip returns the clip of the live benchmark (make bench-live) and of
// make bench's replay ratio: 60 s of 1280x720 at 25 fps, GOP 2 s with two
// B-frames, about 2.5 Mbit/s, a photograph-like picture panned slowly under
// sensor noise, and one counterfeit caption on a translucent box from 25 s to
// 40 s:
//
//	25–40 s  "GUCCI bag 1:1 replica"   gucci + replica, counterfeit
func BenchClip() Clip {
	return Clip{
		Name:        "bench",
		Width:       1280,
		Height:      720,
		DurationMS:  60_000,
		FPS:         DefaultFPS,
		Background:  PhotoBackground,
		Noise:       6,
		BitrateKbps: 2500,
		BFrames:     2,
		Category:    "bench",
		Captions: []Caption{{
			Text:    "GUCCI bag 1:1 replica",
			StartMS: benchCaptionStartMS, EndMS: benchCaptionEndMS,
			Size: 48, Color: "white", Box: "black@0.6",
			Brand: demoBrandGucci, Phrase: demoPhraseReplica, Counterfeit: true,
		}},
	}
}
