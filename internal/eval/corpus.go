package eval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/streamwatch/streamwatch/internal/clipgen"
)

// ErrCorpus is returned, wrapped, for a corpus file the harness cannot use.
var ErrCorpus = errors.New("eval: bad corpus")

// clipNameRE keeps clip names usable as file names and as streamwatch stream ids.
var clipNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// LoadCorpus reads a JSON list of clipgen.Clip and checks that every clip has a
// unique name that is also a valid stream id, and a category.
func LoadCorpus(path string) ([]clipgen.Clip, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorpus, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt field would silently fall back to a default
	var clips []clipgen.Clip
	if err := dec.Decode(&clips); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorpus, path, err)
	}
	seen := map[string]bool{}
	for i, c := range clips {
		switch {
		case !clipNameRE.MatchString(c.Name):
			return nil, fmt.Errorf("%w: %s: clip %d: name %q is not [A-Za-z0-9_-]{1,128}", ErrCorpus, path, i, c.Name)
		case seen[c.Name]:
			return nil, fmt.Errorf("%w: %s: clip name %q used twice", ErrCorpus, path, c.Name)
		case strings.TrimSpace(c.Category) == "":
			return nil, fmt.Errorf("%w: %s: clip %q has no category", ErrCorpus, path, c.Name)
		}
		seen[c.Name] = true
	}
	return clips, nil
}

// specHash identifies what a clip was generated from, so a changed spec is
// regenerated and an unchanged one is not.
func specHash(c clipgen.Clip) (string, error) {
	js, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("eval: clip %s: %w", c.Name, err)
	}
	js = fmt.Appendf(js, "\nclipgen revision %d", clipgen.Revision)
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:]), nil
}

// prepareClip makes sure dir holds c's clip and ground truth as generated from c
// now, generating them unless both exist beside a matching spec hash. It returns
// the clip's path and whether it was generated.
func prepareClip(ctx context.Context, c clipgen.Clip, dir string) (string, bool, error) {
	clipPath := filepath.Join(dir, c.Name+".mp4")
	hashPath := filepath.Join(dir, c.Name+".spec.sha256")
	want, err := specHash(c)
	if err != nil {
		return "", false, err
	}
	if got, err := os.ReadFile(hashPath); err == nil && strings.TrimSpace(string(got)) == want &&
		exists(clipPath) && exists(clipgen.TruthPath(clipPath)) {
		return clipPath, false, nil
	}
	// Remove the hash first: a generation cut short must not leave a stale match.
	if err := os.Remove(hashPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	if _, err := clipgen.Generate(ctx, c, clipPath); err != nil {
		return "", false, err
	}
	if err := os.WriteFile(hashPath, []byte(want+"\n"), 0o644); err != nil {
		return "", false, err
	}
	return clipPath, true, nil
}

// readTruth reads the ground truth Generate wrote beside clipPath.
func readTruth(clipPath string) (clipgen.Truth, error) {
	var t clipgen.Truth
	data, err := os.ReadFile(clipgen.TruthPath(clipPath))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("%s: %w", clipgen.TruthPath(clipPath), err)
	}
	return t, nil
}

func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}
