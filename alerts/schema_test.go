package alerts

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/match"
)

// schemaRecords runs a tracker over a caption that gains a phrase, then
// lingers, and returns every record it gives (open, updates, closed).
func schemaRecords(t *testing.T) []Record {
	t.Helper()
	tr := NewTracker(TrackerOptions{StreamID: "shop_7-B", Channel: "seller 7"})
	start := time.Date(2026, 11, 28, 13, 2, 11, 0, time.UTC)
	first := match.Hit{Rule: "counterfeit-offer", Severity: "high", Brands: []string{"gucci"}, Phrases: []string{"replica"},
		Evidence: []match.Evidence{{AtMS: 0, Text: "GUCCI bag 1:1 replica", Confidence: 91.2, Box: match.Box{X: 150, Y: 930, W: 420, H: 52}}}}
	more := first
	more.Phrases = []string{"aaa", "replica"}
	more.Evidence = []match.Evidence{{Text: "古驰 高仿 AAA", Confidence: 77.5, Box: match.Box{W: 300, H: 40}}}
	var rs []Record
	for i, h := range []match.Hit{first, first, first, more, more, more, more, more, more, more, more} {
		at := int64(i) * 1000
		for j := range h.Evidence {
			h.Evidence[j].AtMS = at
		}
		rs = append(rs, tr.Observe(at, start.Add(time.Duration(at)*time.Millisecond), []match.Hit{h})...)
	}
	rs = append(rs, tr.Close(start.Add(time.Minute))...)
	require.NotEmpty(t, rs)
	return rs
}

func TestSchemaAcceptsTrackerRecords(t *testing.T) {
	seen := map[State]bool{}
	for _, r := range schemaRecords(t) {
		data, err := json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, ValidateRecordJSON(data), "%s", data)
		seen[r.State] = true
	}
	require.Equal(t, map[State]bool{StateOpen: true, StateUpdate: true, StateClosed: true}, seen)
}

// schemaValid returns a valid record as a JSON object to break, with the
// evidence keys the object store adds.
func schemaValid(t *testing.T) map[string]any {
	t.Helper()
	data, err := json.Marshal(schemaRecords(t)[0])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	m["evidence_frame"] = "shop_7-B/5c1e0b8d2f3a4e6b7c8d9e0f/frame.jpg"
	m["evidence"].([]any)[0].(map[string]any)["crop"] = "shop_7-B/5c1e0b8d2f3a4e6b7c8d9e0f/crop-0.jpg"
	return m
}

func TestSchemaAcceptsEvidenceKeysAndTheREADMEExample(t *testing.T) {
	data, err := json.Marshal(schemaValid(t))
	require.NoError(t, err)
	require.NoError(t, ValidateRecordJSON(data))

	readme := `{"schema_version":1,"alert_id":"5c1e0b8d2f3a4e6b7c8d9e0f","revision":0,"state":"open",
	"rule":"counterfeit-offer","severity":"high","stream_id":"demo","channel":"","brands":["gucci"],
	"phrases":["replica"],"start_ms":8000,"end_ms":8000,"started_at":"2026-11-28T13:02:11.000Z",
	"updated_at":"2026-11-28T13:02:11.000Z","evidence_frame":"","evidence":[{"at_ms":8000,
	"text":"GUCCI bag 1:1 replica","confidence":91.2,"box":{"x":150,"y":930,"w":420,"h":52},"crop":""}]}`
	require.NoError(t, ValidateRecordJSON([]byte(readme)))
}

func TestSchemaRejectsBrokenRecords(t *testing.T) {
	evidence0 := func(m map[string]any) map[string]any { return m["evidence"].([]any)[0].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string // in the error
	}{
		{"missing state", func(m map[string]any) { delete(m, "state") }, "missing property 'state'"},
		{"missing evidence", func(m map[string]any) { delete(m, "evidence") }, "missing property 'evidence'"},
		{"missing box in evidence", func(m map[string]any) { delete(evidence0(m), "box") }, "/evidence/0: missing property 'box'"},
		{"bad state", func(m map[string]any) { m["state"] = "opened" }, "/state:"},
		{"bad severity", func(m map[string]any) { m["severity"] = "critical" }, "/severity:"},
		{"bad schema version", func(m map[string]any) { m["schema_version"] = 2 }, "/schema_version:"},
		{"bad stream id", func(m map[string]any) { m["stream_id"] = "shop 7!" }, "/stream_id:"},
		{"empty stream id", func(m map[string]any) { m["stream_id"] = "" }, "/stream_id:"},
		{"stream id too long", func(m map[string]any) { m["stream_id"] = strings.Repeat("a", 129) }, "/stream_id:"},
		{"upper-case alert id", func(m map[string]any) { m["alert_id"] = "5C1E0B8D2F3A4E6B7C8D9E0F" }, "/alert_id:"},
		{"short alert id", func(m map[string]any) { m["alert_id"] = "5c1e0b8d" }, "/alert_id:"},
		{"negative start", func(m map[string]any) { m["start_ms"] = -1 }, "/start_ms:"},
		{"fractional end", func(m map[string]any) { m["end_ms"] = 1.5 }, "/end_ms:"},
		{"negative revision", func(m map[string]any) { m["revision"] = -1 }, "/revision:"},
		{"extra field", func(m map[string]any) { m["seller_name"] = "x" }, "'seller_name'"},
		{"extra evidence field", func(m map[string]any) { evidence0(m)["url"] = "x" }, "'url'"},
		{"bad time", func(m map[string]any) { m["updated_at"] = "2026-11-28 13:02:11" }, "/updated_at:"},
		{"time not in UTC", func(m map[string]any) { m["started_at"] = "2026-11-28T13:02:11.000+01:00" }, "/started_at:"},
		{"impossible date", func(m map[string]any) { m["started_at"] = "2026-13-40T13:02:11.000Z" }, "/started_at:"},
		{"upper-case brand id", func(m map[string]any) { m["brands"] = []string{"Gucci"} }, "/brands/0:"},
		{"null phrases", func(m map[string]any) { m["phrases"] = nil }, "/phrases:"},
		{"confidence over 100", func(m map[string]any) { evidence0(m)["confidence"] = 100.5 }, "/evidence/0/confidence:"},
		{"negative box", func(m map[string]any) { evidence0(m)["box"].(map[string]any)["x"] = -3 }, "/evidence/0/box/x:"},
		{"numeric crop", func(m map[string]any) { evidence0(m)["crop"] = 7 }, "/evidence/0/crop:"},
		{"null evidence frame", func(m map[string]any) { m["evidence_frame"] = nil }, "/evidence_frame:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := schemaValid(t)
			tc.mutate(m)
			data, err := json.Marshal(m)
			require.NoError(t, err)
			err = ValidateRecordJSON(data)
			require.ErrorIs(t, err, ErrInvalidRecord)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
	require.ErrorIs(t, ValidateRecordJSON([]byte(`{"state":`)), ErrInvalidRecord)
}

// TestSchemaCoversRecord keeps the schema and the Go types in step: every
// JSON field of Record and of its evidence is declared in the schema.
func TestSchemaCoversRecord(t *testing.T) {
	var doc struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
		Defs       struct {
			Evidence struct {
				Properties map[string]any `json:"properties"`
			} `json:"evidence"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(RecordSchema, &doc))
	for _, tc := range []struct {
		typ   reflect.Type
		props map[string]any
	}{
		{reflect.TypeFor[Record](), doc.Properties},
		{reflect.TypeFor[Evidence](), doc.Defs.Evidence.Properties},
	} {
		for _, f := range reflect.VisibleFields(tc.typ) {
			if f.Anonymous {
				continue // its fields are visited too
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			require.Contains(t, tc.props, name, "%s.%s is not in alert.schema.json", tc.typ.Name(), f.Name)
		}
	}
	for _, name := range doc.Required {
		require.Contains(t, doc.Properties, name)
	}
}

func TestRecordStateAndSeverityKeepTheirJSONForm(t *testing.T) {
	for _, st := range States() {
		got, err := ParseState(string(st))
		require.NoError(t, err)
		require.Equal(t, st, got)
		r := Record{State: st, Severity: match.SeverityHigh}
		data, err := json.Marshal(r)
		require.NoError(t, err)
		require.Contains(t, string(data), `"state":"`+string(st)+`"`)
		require.Contains(t, string(data), `"severity":"high"`)
		var back Record
		require.NoError(t, json.Unmarshal(data, &back))
		require.Equal(t, r.State, back.State)
		require.Equal(t, r.Severity, back.Severity)
	}
	_, err := ParseState("opened")
	require.ErrorIs(t, err, ErrState)
}
