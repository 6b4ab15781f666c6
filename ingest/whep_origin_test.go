package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/internal/testutil"
	"github.com/streamwatch/streamwatch/internal/wheptest"
)

// countingServer is an HTTP server on loopback that counts the requests it
// gets and answers them with status.
func countingServer(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func mustOrigin(t *testing.T, s string) Origin {
	t.Helper()
	o, err := ParseOrigin(s)
	require.NoError(t, err)
	return o
}

// A WHEP endpoint that redirects the offer to another origin does not make
// the worker POST there, unless the operator allowed that origin.
func TestWHEPRedirectToOtherOrigin(t *testing.T) {
	target := startWHEPServer(t, wheptest.Options{})
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/whep", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	url := "whep+" + redirector.URL + "/whep"

	t.Run("refused", func(t *testing.T) {
		s, err := OpenStream(context.Background(), url, Options{Logger: quietLogger()})
		require.Nil(t, s)
		require.ErrorIs(t, err, ErrOriginRefused)
		require.Contains(t, err.Error(), target.URL[len("http://"):])
		require.Zero(t, target.Sessions(), "the other origin got an offer")
	})
	t.Run("allowed", func(t *testing.T) {
		s, err := OpenStream(context.Background(), url, Options{Logger: quietLogger(),
			AllowedOrigins: []Origin{mustOrigin(t, target.URL)}})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.Len(t, target.Deleted(), 1)
	})
}

// A session URL (Location) at another origin is not DELETEd: the worker
// would otherwise send a request wherever the endpoint points it.
func TestWHEPLocationAtOtherOrigin(t *testing.T) {
	other, hits := countingServer(t, http.StatusOK)
	srv := startWHEPServer(t, wheptest.Options{Location: other.URL + "/session/"})

	t.Run("refused", func(t *testing.T) {
		var logs testutil.SyncBuffer
		s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: textLogger(&logs)})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.Zero(t, hits.Load(), "the session's DELETE went to another origin")
		require.Contains(t, logs.String(), "session URL not used")
		require.True(t, strings.Contains(logs.String(), other.URL[len("http://"):]), logs.String())
	})
	t.Run("allowed", func(t *testing.T) {
		s, err := OpenStream(context.Background(), whepURL(srv, ""), Options{Logger: quietLogger(),
			AllowedOrigins: []Origin{mustOrigin(t, other.URL)}})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.Equal(t, int32(1), hits.Load())
	})
}
