package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestTabRecordsRequestsAndRendersPages loads a real page that fetches an
// image and runs a script, in headless Chromium.
func TestTabRecordsRequestsAndRendersPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<!doctype html><title>t</title><img src="/dot.svg">`+
				`<p id=out></p><script>document.getElementById("out").textContent = 6*7;</script>`)
		case "/dot.svg":
			w.Header().Set("Content-Type", "image/svg+xml")
			fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	tab := New(t).Tab(t)
	require.NoError(t, tab.Do(30*time.Second, chromedp.Navigate(srv.URL+"/")))
	out, err := Run(tab, 30*time.Second, chromedp.Text("#out"))
	require.NoError(t, err)
	require.Equal(t, "42", out)
	reqs := strings.Join(tab.Requests(), " ")
	require.Contains(t, reqs, srv.URL+"/dot.svg")

	png := tab.Screenshot(t, "", "page")
	info, err := os.Stat(png)
	require.NoError(t, err)
	require.Positive(t, info.Size())
}
