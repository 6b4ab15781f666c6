// Package browsertest drives Debian's headless Chromium from tests through
// chromedp: one browser per test, tabs that record every request they make,
// and full-page screenshots saved under the test's temporary directory.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium process, stopped when its test ends.
type Browser struct {
	ctx context.Context
}

// New starts headless Chromium for t (Debian's `chromium`, or $CHROMIUM) and
// stops it when t ends. The test fails when no browser can be started.
func New(t testing.TB) *Browser {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		var err error
		if path, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("browser test: chromium not on PATH (make test installs Debian's chromium): %v", err)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, so a test's first action does not pay for it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser test: start chromium: %v", err)
	}
	return &Browser{ctx: ctx}
}

// Tab is one browser tab. It records the URL of every request the page makes
// and every console message and uncaught exception.
type Tab struct {
	// Ctx runs chromedp actions in this tab: chromedp.Do(tab.Ctx, ...) or
	// chromedp.Run(tab.Ctx, action) for an action with a value.
	Ctx context.Context

	mu       sync.Mutex
	requests []string
	console  []string
}

// Tab opens a new tab, closed when t ends.
func (b *Browser) Tab(t testing.TB) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tab := &Tab{Ctx: ctx}
	if err := chromedp.Listen(ctx, tab.listen); err != nil {
		t.Fatalf("browser test: open tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browser test: open tab: %v", err)
	}
	return tab
}

func (tab *Tab) listen(ev any) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tab.requests = append(tab.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		for _, arg := range ev.Args {
			tab.console = append(tab.console, string(ev.Type)+": "+string(arg.Value)+arg.Description)
		}
	case *runtime.EventExceptionThrown:
		tab.console = append(tab.console, "exception: "+ev.ExceptionDetails.Text)
	}
}

// Requests returns the URLs the tab has requested so far, in order.
func (tab *Tab) Requests() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.requests...)
}

// Console returns the console messages and uncaught exceptions so far.
func (tab *Tab) Console() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.console...)
}

// Do runs steps in the tab, bounded by timeout.
func (tab *Tab) Do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tab.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// Run runs one action with a value in the tab, bounded by timeout.
func Run[T any](tab *Tab, timeout time.Duration, action chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(tab.Ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, action)
}

// Screenshot saves a full-page PNG of the tab as NAME.png in dir (the test's
// temporary directory when dir is empty) and returns its path.
func (tab *Tab) Screenshot(t testing.TB, dir, name string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := Run(tab, 30*time.Second, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser test: screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Fatalf("browser test: screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
