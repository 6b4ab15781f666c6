package console

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/internal/browsertest"
)

// pageTimeout bounds one browser step.
const pageTimeout = 30 * time.Second

// openConsole loads the console in tab and waits until it has read every
// stored alert.
func openConsole(t *testing.T, tab *browsertest.Tab, url string) {
	t.Helper()
	require.NoError(t, tab.Do(pageTimeout, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "1"`)), "console: %v", tab.Console())
}

// rowSeen waits in tab for the row of alert id and returns the browser's
// clock (ms since the epoch) at the first poll that saw it.
func rowSeen(tab *browsertest.Tab, id string) (int64, error) {
	return browsertest.Run(tab, pageTimeout, chromedp.Poll[int64](
		fmt.Sprintf(`document.querySelector('tr[data-alert-id="%s"]') ? Date.now() : 0`, id), chromedp.WithPollingMutation()))
}

// imageLoaded waits in tab for the image of selector to have loaded.
func imageLoaded(tab *browsertest.Tab, selector string) (int, error) {
	return browsertest.Run(tab, pageTimeout, chromedp.Poll[int](
		fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i && i.complete && i.naturalWidth; })()`, selector)))
}

// verdictShown waits in tab for the row of id to show want as its verdict.
func verdictShown(tab *browsertest.Tab, id, want string) error {
	return tab.Do(pageTimeout, chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`(() => { const c = document.querySelector('tr[data-alert-id="%s"] .vcell'); return c && c.textContent === %q; })()`, id, want)))
}

// TestPageLiveAlertsEvidenceAndSharedVerdicts drives two headless Chromiums
// (two moderators) against one console on an embedded JetStream: an alert
// published while the pages are open appears within 2 s of its record
// reaching a NATS subscriber, with its evidence frame and crop loaded and its
// spans marked; a verdict given in one browser shows in the other, and stays
// through a reload and a restart of the console.
func TestPageLiveAlertsEvidenceAndSharedVerdicts(t *testing.T) {
	b := newBench(t)
	old := b.offer(t, "shop-1", 2000, "GUCCI bag 1:1 replica")
	b.publish(t, old)
	c := b.serve(t, "127.0.0.1:0", Access{})
	shots := t.TempDir()
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" {
		shots = dir // to keep them, e.g. for docs/console.png
	}

	alice := browsertest.New(t).Tab(t)
	bob := browsertest.New(t).Tab(t)
	openConsole(t, alice, c.base+"/")
	openConsole(t, bob, c.base+"/")
	_, err := rowSeen(alice, old.AlertID)
	require.NoError(t, err, "an alert stored before the page opened")

	// The arrival of the record at a subscriber of the test, against the
	// first sight of its row on the page.
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	sub, err := b.nc.Subscribe(alerts.SubjectPrefix+">", func(m *nats.Msg) {
		var r alerts.Record
		if json.Unmarshal(m.Data, &r) == nil {
			mu.Lock()
			arrived[r.AlertID] = time.Now()
			mu.Unlock()
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Unsubscribe()) })
	require.NoError(t, b.nc.Flush())

	fresh := b.offer(t, "shop-2", 7000, "古驰 高仿 GUCCI 1:1 replica")
	seen := make(chan int64, 1)
	seenErr := make(chan error, 1)
	go func() {
		at, err := rowSeen(bob, fresh.AlertID)
		seen <- at
		seenErr <- err
	}()
	b.publish(t, fresh)
	at := <-seen
	require.NoError(t, <-seenErr)
	mu.Lock()
	arrival := arrived[fresh.AlertID]
	mu.Unlock()
	require.False(t, arrival.IsZero())
	latency := time.UnixMilli(at).Sub(arrival)
	t.Logf("record at a subscriber to row on the page: %v", latency)
	require.Less(t, latency, 2*time.Second)

	marks, err := browsertest.Run(bob, pageTimeout, chromedp.Evaluate[[]string](fmt.Sprintf(
		`[...document.querySelectorAll('tr[data-alert-id="%s"] mark')].map(m => m.className + ":" + m.textContent)`, fresh.AlertID)))
	require.NoError(t, err)
	require.Contains(t, marks, "brand:GUCCI")
	require.Contains(t, marks, "phrase:replica")
	w, err := imageLoaded(bob, fmt.Sprintf(`tr[data-alert-id="%s"] img.thumb`, fresh.AlertID))
	require.NoError(t, err)
	require.Equal(t, 640, w, "the evidence frame, as stored")

	// Alice opens the alert, sees its frame and crop, and confirms it.
	row := fmt.Sprintf(`tr[data-alert-id="%s"]`, fresh.AlertID)
	require.NoError(t, alice.Do(pageTimeout, chromedp.Click(chromedp.CSS(row))))
	w, err = imageLoaded(alice, "#d-frame")
	require.NoError(t, err)
	require.Equal(t, 640, w)
	w, err = imageLoaded(alice, "#d-lines img.crop")
	require.NoError(t, err)
	require.Equal(t, 520, w, "the crop of the evidence line")
	require.NoError(t, alice.Do(pageTimeout,
		chromedp.SendKeys(chromedp.CSS("#by"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#note"), "same seller as yesterday"),
		chromedp.Click(chromedp.CSS(`#detail button[data-verdict="confirmed"]`))))
	require.NoError(t, verdictShown(alice, fresh.AlertID, "confirmed · alice"))
	require.NoError(t, verdictShown(bob, fresh.AlertID, "confirmed · alice"), "bob sees alice's verdict live")
	unreviewed, err := browsertest.Run(bob, pageTimeout, chromedp.Text(chromedp.CSS("#unreviewed")))
	require.NoError(t, err)
	require.Equal(t, "1", unreviewed)
	alice.Screenshot(t, shots, "console")

	// The page's filters: bob looks at what is left to review.
	require.NoError(t, bob.Do(pageTimeout, chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.querySelector("#f-verdict"); s.value = "unreviewed"; s.dispatchEvent(new Event("change")); })()`)))
	shown, err := browsertest.Run(bob, pageTimeout, chromedp.Poll[[]string](`(() => {
		const ids = [...document.querySelectorAll("#alerts tbody tr")].map(r => r.dataset.alertId);
		return ids.length === 1 && ids; })()`))
	require.NoError(t, err, "one row left")
	require.Equal(t, []string{old.AlertID}, shown)

	require.NoError(t, bob.Do(pageTimeout, chromedp.Reload()))
	require.NoError(t, verdictShown(bob, fresh.AlertID, "confirmed · alice"), "after a reload")

	// A new console on the same bucket: the verdict and its history stay.
	c.stop(t)
	c2 := b.serve(t, "127.0.0.1:0", Access{})
	openConsole(t, bob, c2.base+"/")
	require.NoError(t, verdictShown(bob, fresh.AlertID, "confirmed · alice"), "after a console restart")
	require.NoError(t, bob.Do(pageTimeout, chromedp.Click(chromedp.CSS(row)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#history li").length === 1 &&
			document.querySelector("#history li q")?.textContent === "same seller as yesterday"`)))
	bob.Screenshot(t, shots, "console-restarted")
	for _, r := range append(alice.Requests(), bob.Requests()...) {
		require.Regexp(t, `^(http://127\.0\.0\.1:\d+/|data:)`, r, "the page fetches nothing from elsewhere")
	}
}

// TestRowClickedWhileItsAlertUpdates: a moderator's click on a row opens the
// alert even when a newer record of it arrives between the button going down
// and coming up: the record replaces the row, and the page opens an alert on
// a press and a release over its row, whichever element the row is by then.
func TestRowClickedWhileItsAlertUpdates(t *testing.T) {
	b := newBench(t)
	r := b.offer(t, "shop-3", 4000, "LV AAA quality")
	b.publish(t, r)
	c := b.serve(t, "127.0.0.1:0", Access{})
	tab := browsertest.New(t).Tab(t)
	openConsole(t, tab, c.base+"/")
	_, err := rowSeen(tab, r.AlertID)
	require.NoError(t, err)

	row := fmt.Sprintf(`tr[data-alert-id="%s"]`, r.AlertID)
	at, err := browsertest.Run(tab, pageTimeout, chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const b = document.querySelector('%s td:nth-child(6)').getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()`, row)))
	require.NoError(t, err)
	require.Len(t, at, 2)
	require.NoError(t, tab.Do(pageTimeout, chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, at[0], at[1], chromedp.ButtonLeft, chromedp.ClickCount(1))))

	update := r
	update.Revision, update.State, update.EndMS = 1, alerts.StateUpdate, r.EndMS+2000
	b.publish(t, update)
	require.NoError(t, tab.Do(pageTimeout, chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`document.querySelector('%s td:nth-child(5)')?.textContent === "update"`, row))), "the row shows the newer record")

	require.NoError(t, tab.Do(pageTimeout, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, at[0], at[1], chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#detail").hidden &&
			document.querySelector("#d-title").textContent === "counterfeit-offer · high · update"`)),
		"the click opens the alert")
	w, err := imageLoaded(tab, "#d-frame")
	require.NoError(t, err)
	require.Equal(t, 640, w)
}
