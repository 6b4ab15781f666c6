package clipgen

// Rule ids the demo captions expect, as match/default_rules.yaml names them.
const (
	demoBrandGucci = "gucci"
	demoBrandNike  = "nike"
	demoBrandLV    = "louis-vuitton"
	// "1:1 replica" and "高仿" both name the replica indicator.
	demoPhraseReplica = "replica"
	// "AAA" is in the grading group, apart from "replica".
	demoPhraseGrade = "high-grade-copy"
)

// DemoClip returns the clip committed as testdata/demo.mp4: 34 s of vertical 720x1280
// video at 25 fps on a dimmed, moving test pattern, with five captions on a translucent
// box in the lower third, separated by gaps with no caption:
//
//	 1– 5 s  "Live sale tonight!"      innocent
//	 6–10 s  "Nike shoes new arrivals" nike alone
//	14–18 s  "GUCCI bag 1:1 replica"   gucci + replica, counterfeit
//	22–26 s  "古驰 高仿 包包 特价"       gucci + replica, counterfeit (Chinese)
//	29–33 s  "LV AAA quality wallet"   louis-vuitton + high-grade-copy, counterfeit
//
// The gaps between counterfeit captions are longer than the default 3 s gap
// tolerance, so each gives a segment of its own, and the innocent brand comes
// before any counterfeit phrase, so no rule window joins it to one.
//
// The test pattern draws its own small clock ("00:00:10.520") in the top-left corner
// all the time; the truth does not list it, as it names no brand and no phrase.
func DemoClip() Clip {
	caption := func(text string, startS, endS int64, brand, phrase string) Caption {
		return Caption{
			Text:        text,
			StartMS:     startS * 1000,
			EndMS:       endS * 1000,
			Size:        52,
			Color:       "white",
			Box:         "black@0.6",
			Brand:       brand,
			Phrase:      phrase,
			Counterfeit: brand != "" && phrase != "",
		}
	}
	return Clip{
		Name:       "demo",
		Width:      DefaultWidth,
		Height:     DefaultHeight,
		DurationMS: 34_000,
		FPS:        DefaultFPS,
		Background: "testsrc2,eq=brightness=-0.3:saturation=0.4",
		CRF:        32,
		Category:   "demo",
		Captions: []Caption{
			caption("Live sale tonight!", 1, 5, "", ""),
			caption("Nike shoes new arrivals", 6, 10, demoBrandNike, ""),
			caption("GUCCI bag 1:1 replica", 14, 18, demoBrandGucci, demoPhraseReplica),
			caption("古驰 高仿 包包 特价", 22, 26, demoBrandGucci, demoPhraseReplica),
			caption("LV AAA quality wallet", 29, 33, demoBrandLV, demoPhraseGrade),
		},
	}
}
