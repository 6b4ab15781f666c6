package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamwatch/streamwatch/match"
)

// baselineVersion names the way the baseline reads frames; a change to it (or to
// the languages, or to Tesseract) invalidates the cached baseline results.
const baselineVersion = "ffmpeg fps=1 png; tesseract psm 3 whole frame; v1"

// BaselineGapMS is the longest gap between hit frames the baseline bridges,
// like streamwatch's default --gap.
const BaselineGapMS = 3000

// FrameText is what the baseline's Tesseract read in one frame.
type FrameText struct {
	AtMS int64  `json:"at_ms"`
	Text string `json:"text"`
}

// baselineRun is the baseline's reading of one clip, as cached on disk.
type baselineRun struct {
	Key    string      `json:"key"`
	Frames []FrameText `json:"frames"`
	// CPUSeconds is user+system time of ffmpeg and every tesseract together.
	CPUSeconds float64 `json:"cpu_s"`
}

// runBaseline does what a user would script: extract one frame per second with
// ffmpeg, run the tesseract CLI on each whole frame (workers at a time), and keep
// the text. framesDir is emptied, used and removed.
func runBaseline(ctx context.Context, clipPath, framesDir, languages string, workers int) (baselineRun, error) {
	if err := os.RemoveAll(framesDir); err != nil {
		return baselineRun{}, err
	}
	if err := os.MkdirAll(framesDir, 0o755); err != nil {
		return baselineRun{}, err
	}
	defer os.RemoveAll(framesDir)

	ff := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-i", clipPath, "-vf", "fps=1", filepath.Join(framesDir, "%04d.png"))
	total, err := runChild(ctx, ff)
	if err != nil {
		return baselineRun{}, fmt.Errorf("baseline frames of %s: %w", clipPath, err)
	}
	pngs, err := filepath.Glob(filepath.Join(framesDir, "*.png"))
	if err != nil {
		return baselineRun{}, err
	}
	slices.Sort(pngs) // %04d sorts in time order

	frames := make([]FrameText, len(pngs))
	cpus := make([]time.Duration, len(pngs))
	errs := make([]error, len(pngs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range jobs {
				cmd := exec.CommandContext(ctx, "tesseract", pngs[i], "stdout", "-l", languages)
				var out strings.Builder
				cmd.Stdout = &out
				cpus[i], errs[i] = runChild(ctx, cmd)
				// fps=1 outputs frame k (from 1) for media time k-1 s.
				frames[i] = FrameText{AtMS: int64(i) * 1000, Text: strings.TrimSpace(out.String())}
			}
		})
	}
	for i := range pngs {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return baselineRun{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return baselineRun{}, fmt.Errorf("baseline OCR of %s: %w", clipPath, err)
	}
	for _, c := range cpus {
		total += c
	}
	return baselineRun{Frames: frames, CPUSeconds: total.Seconds()}, nil
}

// loadBaseline returns the cached baseline run at path when its key is key.
func loadBaseline(path, key string) (baselineRun, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return baselineRun{}, false
	}
	var r baselineRun
	if json.Unmarshal(data, &r) != nil || r.Key != key {
		return baselineRun{}, false
	}
	return r, true
}

func saveBaseline(path string, r baselineRun) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tesseractVersion returns the first line of `tesseract --version`, part of the
// baseline cache key.
func tesseractVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "tesseract", "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tesseract --version: %w", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

// naiveTerm is a brand name or phrase term as the baseline looks for it.
type naiveTerm struct {
	kind      match.Kind
	id, lower string
}

// NaiveMatcher finds brand names and phrase terms as plain case-insensitive
// substrings, the way a quick script would: no word boundaries ("LV" is found
// in "SILVER"), no space folding.
type NaiveMatcher struct{ terms []naiveTerm }

// NewNaiveMatcher collects the names and terms of r.
func NewNaiveMatcher(r *match.Rules) *NaiveMatcher {
	m := &NaiveMatcher{}
	for _, b := range r.Brands {
		for _, n := range b.Names {
			m.terms = append(m.terms, naiveTerm{match.KindBrand, b.ID, strings.ToLower(n)})
		}
	}
	for _, p := range r.Phrases {
		for _, t := range p.Terms {
			m.terms = append(m.terms, naiveTerm{match.KindPhrase, p.ID, strings.ToLower(t)})
		}
	}
	return m
}

// Match returns the brand and phrase ids whose names or terms text contains,
// sorted and unique.
func (m *NaiveMatcher) Match(text string) (brands, phrases []string) {
	lower := strings.ToLower(text)
	for _, t := range m.terms {
		if t.lower == "" || !strings.Contains(lower, t.lower) {
			continue
		}
		if t.kind == match.KindBrand {
			brands = union(brands, []string{t.id})
		} else {
			phrases = union(phrases, []string{t.id})
		}
	}
	return brands, phrases
}

// BaselineSegments groups the frames in which a brand and a phrase both appear
// into segments: consecutive hit frames, with gaps of up to gapMS bridged. A
// segment starts at its first hit frame's time and ends at its last one's.
func BaselineSegments(m *NaiveMatcher, frames []FrameText, gapMS int64) []Segment {
	var segs []Segment
	for _, f := range frames {
		brands, phrases := m.Match(f.Text)
		if len(brands) == 0 || len(phrases) == 0 {
			continue
		}
		ev := Evidence{AtMS: f.AtMS, Text: f.Text}
		if n := len(segs); n > 0 && f.AtMS-segs[n-1].EndMS <= gapMS {
			s := &segs[n-1]
			s.EndMS = f.AtMS
			s.Brands = union(s.Brands, brands)
			s.Phrases = union(s.Phrases, phrases)
			s.Evidence = append(s.Evidence, ev)
			continue
		}
		segs = append(segs, Segment{
			StartMS: f.AtMS, EndMS: f.AtMS, Brands: brands, Phrases: phrases,
			Rule: RuleCounterfeitOffer, Evidence: []Evidence{ev},
		})
	}
	return segs
}
