package console

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/streamwatch/streamwatch/alerts"
	"github.com/streamwatch/streamwatch/match"
)

// AlertView is the latest record of an alert as the page shows it: the
// record, each evidence line's text cut into parts at the matched spans, and
// the alert's latest verdict.
type AlertView struct {
	alerts.Record
	// Lines holds, for each of Record.Evidence, its text in parts.
	Lines []Line `json:"lines"`
	// Review is the latest verdict on the alert; nil while unreviewed.
	Review *Review `json:"review"`
}

// Line is one evidence line's text, in parts: matched spans carry their
// kind and lexicon id, the text between them carries neither.
type Line struct {
	Parts []Part `json:"parts"`
}

// Part is a piece of an evidence line's text.
type Part struct {
	Text string     `json:"text"`
	Kind match.Kind `json:"kind,omitempty"` // brand or phrase; empty between spans
	ID   string     `json:"id,omitempty"`
}

// StreamView is what the console knows of a stream from its status events.
type StreamView struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state"` // attached, reconnecting, gap, ended
	At       string `json:"at"`
	MediaMS  int64  `json:"media_ms"`
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Gaps and UnwatchedMS add up the unmonitored spans reported while
	// the console ran (wall-clock, as streamwatch_unmonitored_seconds_total).
	Gaps        int   `json:"gaps"`
	UnwatchedMS int64 `json:"unwatched_ms"`
}

// streamStatus is the part of a status event (streamwatch.streams.ID.status)
// the console reads.
type streamStatus struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state"`
	At       string `json:"at"`
	MediaMS  int64  `json:"media_ms"`
	Error    string `json:"error"`
	Reason   string `json:"reason"`
	Gap      *struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"gap"`
}

// event is one server-sent event.
type event struct {
	kind string // alert, review, stream, ready
	data []byte
}

// subscriberBuffer is how many events a page may fall behind before it is
// cut off; its EventSource then reconnects and is sent everything again, so
// a slow page loses nothing.
const subscriberBuffer = 512

type subscriber struct {
	ch   chan event
	gone chan struct{} // closed when the hub cut the subscriber off
}

// hub holds the alerts, verdicts and streams the console has read, and the
// pages that follow them. Its methods are safe for concurrent use.
type hub struct {
	matcher match.Matcher

	mu      sync.Mutex
	alerts  map[string]*AlertView
	reviews map[string][]Review // by alert id, by revision
	keys    map[string]bool     // evidence keys of the records read
	streams map[string]*StreamView
	subs    map[*subscriber]struct{}
	caught  bool // every alert stored when the console started has been read
}

func newHub(m match.Matcher) *hub {
	return &hub{matcher: m, alerts: map[string]*AlertView{}, reviews: map[string][]Review{},
		keys: map[string]bool{}, streams: map[string]*StreamView{}, subs: map[*subscriber]struct{}{}}
}

// addRecord keeps r if it is the latest record of its alert and tells the pages.
func (h *hub) addRecord(r alerts.Record) {
	v := &AlertView{Record: r, Lines: h.lines(r)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.alerts[r.AlertID]; old != nil && old.Revision > r.Revision {
		return
	}
	v.Review = h.latest(r.AlertID)
	h.alerts[r.AlertID] = v
	if r.EvidenceFrame != "" {
		h.keys[r.EvidenceFrame] = true
	}
	for _, e := range r.Evidence {
		if e.Crop != "" {
			h.keys[e.Crop] = true
		}
	}
	h.broadcast(mustEvent("alert", v))
}

// lines cuts each evidence text of r at its matched spans.
func (h *hub) lines(r alerts.Record) []Line {
	out := make([]Line, len(r.Evidence))
	for i, e := range r.Evidence {
		res := h.matcher.Match(e.Text)
		at := 0
		for _, s := range res.Spans {
			if s.Start < at || s.End > len(e.Text) || s.Start >= s.End {
				continue // overlaps the span before it
			}
			if s.Start > at {
				out[i].Parts = append(out[i].Parts, Part{Text: e.Text[at:s.Start]})
			}
			out[i].Parts = append(out[i].Parts, Part{Text: e.Text[s.Start:s.End], Kind: s.Kind, ID: s.ID})
			at = s.End
		}
		if at < len(e.Text) {
			out[i].Parts = append(out[i].Parts, Part{Text: e.Text[at:]})
		}
	}
	return out
}

// addReview keeps a verdict and tells the pages.
func (h *hub) addReview(r Review) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := h.reviews[r.AlertID]
	i, found := slices.BinarySearchFunc(rs, r.Revision, func(x Review, rev uint64) int { return cmp.Compare(x.Revision, rev) })
	if found {
		return // the writer's copy and the watch's
	}
	h.reviews[r.AlertID] = slices.Insert(rs, i, r)
	if v := h.alerts[r.AlertID]; v != nil {
		v.Review = h.latest(r.AlertID)
	}
	h.broadcast(mustEvent("review", r))
}

// latest is the latest verdict on id, or nil; h.mu is held.
func (h *hub) latest(id string) *Review {
	rs := h.reviews[id]
	if len(rs) == 0 {
		return nil
	}
	r := rs[len(rs)-1]
	return &r
}

// setStatus records a stream's status event and tells the pages.
func (h *hub) setStatus(st streamStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.streams[st.StreamID]
	if v == nil {
		v = &StreamView{StreamID: st.StreamID}
		h.streams[st.StreamID] = v
	}
	v.State, v.At, v.MediaMS, v.Error, v.Reason = st.State, st.At, st.MediaMS, st.Error, st.Reason
	if g := st.Gap; g != nil {
		from, ferr := time.Parse(time.RFC3339Nano, g.From)
		to, terr := time.Parse(time.RFC3339Nano, g.To)
		v.Gaps++
		if ferr == nil && terr == nil && to.After(from) {
			v.UnwatchedMS += to.Sub(from).Milliseconds()
		}
	}
	h.broadcast(mustEvent("stream", v))
}

// setCaughtUp records that the alerts stored at start are all read.
func (h *hub) setCaughtUp() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.caught = true
	h.broadcast(event{kind: "ready", data: []byte(`{}`)})
}

// broadcast hands ev to every page; one that is too far behind is cut off.
// h.mu is held.
func (h *hub) broadcast(ev event) {
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			delete(h.subs, s)
			close(s.gone)
		}
	}
}

// subscribe returns everything known now, as events, and a subscriber that
// gets every change from then on.
func (h *hub) subscribe() ([]event, *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var evs []event
	for _, v := range h.sortedAlerts(Filter{}) {
		evs = append(evs, mustEvent("alert", v))
	}
	for _, rs := range h.reviews {
		for _, r := range rs {
			evs = append(evs, mustEvent("review", r))
		}
	}
	for _, v := range h.streams {
		evs = append(evs, mustEvent("stream", v))
	}
	if h.caught {
		evs = append(evs, event{kind: "ready", data: []byte(`{}`)})
	}
	s := &subscriber{ch: make(chan event, subscriberBuffer), gone: make(chan struct{})}
	h.subs[s] = struct{}{}
	return evs, s
}

// unsubscribe forgets s.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.gone)
	}
}

// sortedAlerts returns the alerts f lets through, newest first; h.mu is held.
func (h *hub) sortedAlerts(f Filter) []AlertView {
	out := make([]AlertView, 0, len(h.alerts))
	for _, v := range h.alerts {
		if f.keep(v) {
			out = append(out, *v)
		}
	}
	slices.SortFunc(out, func(a, b AlertView) int {
		return cmp.Or(cmp.Compare(b.StartedAt, a.StartedAt), cmp.Compare(a.AlertID, b.AlertID))
	})
	return out
}

// list returns the alerts f lets through, newest first, and how many alerts
// in all have no verdict.
func (h *hub) list(f Filter) ([]AlertView, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	unreviewed := 0
	for _, v := range h.alerts {
		if v.Review == nil {
			unreviewed++
		}
	}
	return h.sortedAlerts(f), unreviewed
}

// alert returns one alert and the history of its verdicts, oldest first.
func (h *hub) alert(id string) (AlertView, []Review, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.alerts[id]
	if v == nil {
		return AlertView{}, nil, false
	}
	return *v, slices.Clone(h.reviews[id]), true
}

// known says whether an alert of id has been read.
func (h *hub) known(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.alerts[id] != nil
}

// hasKey says whether a record read names the evidence key.
func (h *hub) hasKey(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[key]
}

// streamList returns the streams, by id.
func (h *hub) streamList() []StreamView {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]StreamView, 0, len(h.streams))
	for _, v := range h.streams {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b StreamView) int { return cmp.Compare(a.StreamID, b.StreamID) })
	return out
}

// mustEvent encodes v, one of the console's own types. Their values come
// from JSON, so they encode again; should one not, the page is told why.
func mustEvent(kind string, v any) event {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": err.Error()}) //nolint:errchkjson // a map of strings encodes
		kind = "error"
	}
	return event{kind: kind, data: data}
}
