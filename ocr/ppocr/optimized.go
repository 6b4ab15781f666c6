package ppocr

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// optimizedSuffix ends the name of a model as ONNX Runtime optimised it.
const optimizedSuffix = ".optimized.onnx"

// cachedModel returns where the cache keeps model file src as optimised for
// this runtime and machine: the key covers the runtime's version, the
// file's size and time, the CPU (the optimised graph holds CPU-specific
// layouts) and fold's version. It is "" when the cache is off.
func (e *Engine) cachedModel(src string) string {
	if e.o.CacheDir == "" {
		return ""
	}
	st, err := os.Stat(src)
	if err != nil {
		return "" // the load that follows says why
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%d\n%s\nfold %d\n", ort.GetVersion(), st.Size(), st.ModTime().UnixNano(), cpuID(), foldVersion)
	base := strings.TrimSuffix(filepath.Base(src), ".onnx")
	return filepath.Join(e.o.CacheDir, base+"-"+hex.EncodeToString(h.Sum(nil))[:16]+optimizedSuffix)
}

// cpuID names this machine's CPU: the model name and feature flags of its
// first processor in /proc/cpuinfo ("" where there is none).
func cpuID() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close() //nolint:errcheck // opened for reading only
	var id []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() && len(id) < 2 {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if k = strings.TrimSpace(k); ok && (k == "model name" || k == "flags") {
			id = append(id, strings.TrimSpace(v))
		}
	}
	return strings.Join(id, "\n")
}

// ErrCache is wrapped by the error of a model whose optimised form could
// not be kept or read: the engine works, optimising the model again at
// each start-up.
var ErrCache = errors.New("ppocr: cannot keep the optimised model")

// loadCached opens the session of model file src from its optimised form
// in the cache, without optimising it again; when there is none (or it
// does not load), it opens model (src as fold rewrote it) with every
// optimisation and keeps what ONNX Runtime made of it. A nil session (the
// cache off, or the model not loading so) leaves the load to the caller;
// an error wraps ErrCache, the session open or not.
func (e *Engine) loadCached(src string, model func() ([]byte, error), open openFunc) (*ort.DynamicAdvancedSession, error) {
	dst := e.cachedModel(src)
	if dst == "" {
		return nil, nil
	}
	if data, err := os.ReadFile(dst); err == nil {
		if s, err := open(data, ort.GraphOptimizationLevelDisableAll, ""); err == nil {
			return s, nil
		}
		// A cached file this runtime does not load is made again below.
	}
	if err := os.MkdirAll(e.o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCache, err)
	}
	tmp, err := os.CreateTemp(e.o.CacheDir, filepath.Base(dst)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCache, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCache, errors.Join(err, os.Remove(tmp.Name())))
	}
	b, err := model()
	if err != nil {
		return nil, removeTemp(tmp.Name()) // the caller's own load says why
	}
	s, err := open(b, ort.GraphOptimizationLevelEnableAll, tmp.Name())
	if err != nil {
		// The caller's own load says what is wrong with src.
		return nil, removeTemp(tmp.Name())
	}
	if err := errors.Join(os.Chmod(tmp.Name(), 0o644), os.Rename(tmp.Name(), dst)); err != nil {
		return s, fmt.Errorf("%w: %w", ErrCache, errors.Join(err, os.Remove(tmp.Name())))
	}
	return s, nil
}

// removeTemp removes a temporary file of the cache, if it is there.
func removeTemp(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	return nil
}

// openFunc opens a session of a model at an optimisation level, saving
// the optimised graph to save unless it is "".
type openFunc func(model []byte, level ort.GraphOptimizationLevel, save string) (*ort.DynamicAdvancedSession, error)
