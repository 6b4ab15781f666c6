package eval

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/match"
)

func TestParseRecords(t *testing.T) {
	tests := []struct {
		name    string
		records string
		want    []Segment
		err     string
	}{
		{
			name:    "no records",
			records: "",
		},
		{
			name: "closed record gives the times, brands and phrases unite over the alert",
			records: `{"alert_id":"a1","revision":0,"state":"open","rule":"counterfeit-offer","brands":["gucci"],"phrases":["replica"],"start_ms":2000,"end_ms":2000,"evidence":[{"at_ms":2000,"text":"GUCCI 1:1"}]}
{"alert_id":"p1","revision":0,"state":"open","rule":"counterfeit-phrase","brands":[],"phrases":["replica"],"start_ms":2000,"end_ms":2000,"evidence":[{"at_ms":2000,"text":"GUCCI 1:1"}]}
{"alert_id":"a1","revision":1,"state":"update","rule":"counterfeit-offer","brands":["gucci","prada"],"phrases":["replica"],"start_ms":2000,"end_ms":3000,"evidence":[{"at_ms":2000,"text":"GUCCI 1:1"},{"at_ms":3000,"text":"Prada"}]}
{"alert_id":"a1","revision":2,"state":"closed","rule":"counterfeit-offer","brands":["gucci"],"phrases":["high-grade-copy","replica"],"start_ms":2000,"end_ms":6000,"evidence":[{"at_ms":6000,"text":"GUCCI AAA"}]}

{"alert_id":"p1","revision":1,"state":"closed","rule":"counterfeit-phrase","brands":[],"phrases":["replica"],"start_ms":2000,"end_ms":5000,"evidence":[]}
`,
			want: []Segment{
				{StartMS: 2000, EndMS: 5000, Brands: []string{}, Phrases: []string{"replica"}, Rule: "counterfeit-phrase",
					Evidence: []Evidence{{2000, "GUCCI 1:1"}}},
				{StartMS: 2000, EndMS: 6000, Brands: []string{"gucci", "prada"}, Phrases: []string{"high-grade-copy", "replica"},
					Rule: "counterfeit-offer", Evidence: []Evidence{{2000, "GUCCI 1:1"}, {3000, "Prada"}, {6000, "GUCCI AAA"}}},
			},
		},
		{
			name: "an alert never closed keeps its latest record's times",
			records: `{"alert_id":"a1","revision":0,"state":"open","rule":"counterfeit-offer","brands":["gucci"],"phrases":["replica"],"start_ms":2000,"end_ms":2000}
{"alert_id":"a1","revision":1,"state":"update","rule":"counterfeit-offer","brands":["gucci"],"phrases":["replica"],"start_ms":2000,"end_ms":7000}
`,
			want: []Segment{{StartMS: 2000, EndMS: 7000, Brands: []string{"gucci"}, Phrases: []string{"replica"}, Rule: "counterfeit-offer"}},
		},
		{
			name:    "a line that is not JSON is an error naming the line",
			records: "{\"alert_id\":\"a\"}\nnot json\n",
			err:     "record on line 2",
		},
		{
			name:    "a record without alert id is an error",
			records: `{"state":"open"}`,
			err:     "no alert_id",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRecords(strings.NewReader(tc.records))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, len(tc.want), len(got))
			for i := range tc.want {
				require.Equal(t, tc.want[i].Rule, got[i].Rule)
				require.Equal(t, tc.want[i].StartMS, got[i].StartMS)
				require.Equal(t, tc.want[i].EndMS, got[i].EndMS)
				require.ElementsMatch(t, tc.want[i].Brands, got[i].Brands)
				require.Equal(t, tc.want[i].Phrases, got[i].Phrases)
				require.Equal(t, tc.want[i].Evidence, got[i].Evidence)
			}
		})
	}
}

func TestNaiveMatcher(t *testing.T) {
	m := NewNaiveMatcher(match.DefaultRules())
	tests := []struct {
		text            string
		brands, phrases []string
	}{
		{"GUCCI handbag 1:1 replica", []string{"gucci"}, []string{"replica"}},
		{"gucci", []string{"gucci"}, nil},
		{"古驰高仿包包", []string{"gucci"}, []string{"replica"}},
		// A substring search has no word boundaries, nor does it fold OCR's spaces.
		{"SILVER 1:1 scale model", []string{"louis-vuitton"}, []string{"replica"}},
		{"古驰 高 仿 包 包", []string{"gucci"}, nil},
		{"Live sale tonight!", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			b, p := m.Match(tc.text)
			require.Equal(t, tc.brands, b)
			require.Equal(t, tc.phrases, p)
		})
	}
}

func TestBaselineSegments(t *testing.T) {
	m := NewNaiveMatcher(match.DefaultRules())
	frames := func(texts ...string) []FrameText {
		out := make([]FrameText, len(texts))
		for i, s := range texts {
			out[i] = FrameText{AtMS: int64(i) * 1000, Text: s}
		}
		return out
	}
	hit, miss := "GUCCI 1:1 replica", "Live sale"
	tests := []struct {
		name   string
		frames []FrameText
		want   [][2]int64
	}{
		{"no hit", frames(miss, miss, "GUCCI alone", "replica alone"), nil},
		{"consecutive hits make one segment", frames(miss, hit, hit, hit, miss), [][2]int64{{1000, 3000}}},
		{"a 3 s gap is bridged", frames(hit, miss, miss, hit), [][2]int64{{0, 3000}}},
		{"a 4 s gap splits", frames(hit, miss, miss, miss, hit), [][2]int64{{0, 0}, {4000, 4000}}},
		{"brand and phrase on separate frames do not count", frames("GUCCI", "replica"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got [][2]int64
			for _, s := range BaselineSegments(m, tc.frames, BaselineGapMS) {
				got = append(got, [2]int64{s.StartMS, s.EndMS})
				require.Equal(t, RuleCounterfeitOffer, s.Rule)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseRecords(f *testing.F) {
	f.Add(`{"alert_id":"a1","revision":0,"state":"open","rule":"counterfeit-offer","brands":["gucci"],"phrases":["replica"],"start_ms":2000,"end_ms":2000,"evidence":[{"at_ms":2000,"text":"GUCCI 1:1"}]}`)
	f.Add("{\"alert_id\":\"a\",\"state\":\"closed\",\"start_ms\":-5}\n\n{\"alert_id\":\"a\",\"revision\":9}")
	f.Add("not json")
	f.Fuzz(func(t *testing.T, in string) {
		segs, err := ParseRecords(strings.NewReader(in))
		if err != nil {
			return
		}
		for i := 1; i < len(segs); i++ {
			require.LessOrEqual(t, segs[i-1].StartMS, segs[i].StartMS, "sorted by start")
		}
	})
}

func TestParseFrameLog(t *testing.T) {
	log := `{"time":"t","level":"DEBUG","msg":"[h264 @ 0x1] Reinit context","component":"libav"}
{"time":"t","level":"DEBUG","msg":"frame","component":"monitor","stream":"x","media_ms":0,"lines":0,"hits":0}
not json "msg":"frame"
{"time":"t","level":"DEBUG","msg":"frame","component":"monitor","stream":"x","lines":3}
{"time":"t","level":"DEBUG","msg":"frame","component":"monitor","stream":"x","media_ms":2000,"lines":2,"hits":1}
`
	require.Equal(t, []FrameStat{{0, 0, 0}, {2000, 2, 1}}, parseFrameLog([]byte(log)))
	require.Nil(t, parseFrameLog([]byte("time=t level=DEBUG msg=frame media_ms=0")))
}
