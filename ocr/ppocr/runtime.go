package ppocr

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime has one environment per process: the first Engine creates
// it and the last one closed destroys it.
var env struct {
	mu    sync.Mutex
	users int
	lib   string
}

// ErrOtherRuntime is returned by New when another Engine of the process
// loaded ONNX Runtime from another folder.
var ErrOtherRuntime = errors.New("ppocr: ONNX Runtime already loaded from another folder")

func acquireRuntime(lib string) error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.users > 0 {
		if env.lib != lib {
			return fmt.Errorf("%w: %s, not %s", ErrOtherRuntime, env.lib, lib)
		}
		env.users++
		return nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("ppocr: load ONNX Runtime %s: %w", lib, err)
	}
	env.users, env.lib = 1, lib
	return nil
}

func releaseRuntime() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.users--
	if env.users > 0 {
		return nil
	}
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("ppocr: close ONNX Runtime: %w", err)
	}
	return nil
}
