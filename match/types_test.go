package match

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Severity
		rank int
	}{
		{"low", "low", SeverityLow, 1},
		{"medium", "medium", SeverityMedium, 2},
		{"high", "high", SeverityHigh, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSeverity(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.rank, got.Rank())
		})
	}
	for _, bad := range []string{"", "urgent", "High", " low"} {
		t.Run("refused "+bad, func(t *testing.T) {
			_, err := ParseSeverity(bad)
			require.ErrorIs(t, err, ErrSeverity)
			require.Zero(t, Severity(bad).Rank(), "an unknown severity ranks below low")
		})
	}
	require.Equal(t, []Severity{SeverityLow, SeverityMedium, SeverityHigh}, Severities())
}

func TestTypedValuesKeepTheirForms(t *testing.T) {
	r, err := ParseRules([]byte(`
brands: [{id: gucci, names: [Gucci]}]
phrases: [{id: replica, terms: [replica]}]
rules: [{id: r, severity: medium, require: [brand, phrase]}]
`))
	require.NoError(t, err)
	require.Equal(t, SeverityMedium, r.Rules[0].Severity)
	require.Equal(t, []Kind{KindBrand, KindPhrase}, r.Rules[0].Require)

	res := NewMatcher(r).Match("Gucci replica")
	data, err := json.Marshal(res.Spans)
	require.NoError(t, err)
	require.JSONEq(t, `[
		{"start":0,"end":5,"kind":"brand","id":"gucci","term":"Gucci","text":"Gucci","how":"exact","distance":0},
		{"start":6,"end":13,"kind":"phrase","id":"replica","term":"replica","text":"replica","how":"exact","distance":0}
	]`, string(data))
	var back []Span
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, res.Spans, back)
}
