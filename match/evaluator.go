package match

import (
	"cmp"
	"slices"
)

// maxEvidence is the most evidence lines a Hit carries.
const maxEvidence = 5

// maxHistoryFrames bounds the history even if media time stands still
// (a broken timestamp source keeps sending the same mediaMS).
const maxHistoryFrames = 4096

// Evaluator decides, frame by frame, which rules hold on one stream. It keeps
// the matched lines of the last MaxWindow of media time at most (only as much
// as the longest rule window needs). It is not safe for concurrent use: give
// each stream its own.
type Evaluator struct {
	m          Matcher
	channel    string
	res        Result     // reused by MatchInto
	rules      []evalRule // sorted by id
	ignored    map[string]bool
	maxWindow  int64 // ms
	history    []frameHits
	lastMS     int64
	observed   bool
	ignoredIDs []string
}

type evalRule struct {
	id            string
	severity      Severity
	window        int64 // ms
	brand, phrase bool  // required kinds
}

// frameHits is what one sampled frame matched.
type frameHits struct {
	atMS  int64
	lines []lineHits
}

// lineHits is one line of a frame that matched a brand or a phrase.
type lineHits struct {
	ev      Evidence
	engine  string
	brands  []string // counted: found well, or weak and supported
	phrases []string
	weak    []string // weak brands without support (see How.Weak): not counted
}

// NewEvaluator returns an Evaluator for the rules r on a stream of channel.
// Brands whose authorized_channels contain channel are ignored entirely, as if
// they were not in r. If m is nil, NewMatcher(r) is used; a Matcher shared by
// many streams saves compiling the lexicon per stream.
func NewEvaluator(r *Rules, m Matcher, channel string) *Evaluator {
	e := &Evaluator{channel: channel}
	e.setRules(r, m)
	return e
}

// SetRules puts new rules in force, as after a reload, keeping the history:
// what earlier frames matched still counts within the new windows, as far
// as its brand and phrase ids are still in r (and their brands not
// authorized on this channel). If m is nil, NewMatcher(r) is used.
func (e *Evaluator) SetRules(r *Rules, m Matcher) {
	e.setRules(r, m)
	if r == nil {
		r = &Rules{}
	}
	brands := make(map[string]bool, len(r.Brands))
	for _, b := range r.Brands {
		brands[b.ID] = !e.ignored[b.ID]
	}
	phrases := make(map[string]bool, len(r.Phrases))
	for _, p := range r.Phrases {
		phrases[p.ID] = true
	}
	keepIDs := func(ids []string, ok map[string]bool) []string {
		return slices.DeleteFunc(ids, func(id string) bool { return !ok[id] })
	}
	frames := e.history[:0]
	for _, f := range e.history {
		lines := f.lines[:0]
		for _, lh := range f.lines {
			lh.brands = keepIDs(lh.brands, brands)
			lh.phrases = keepIDs(lh.phrases, phrases)
			lh.weak = keepIDs(lh.weak, brands)
			if len(lh.brands) > 0 || len(lh.phrases) > 0 || len(lh.weak) > 0 {
				lines = append(lines, lh)
			}
		}
		if len(lines) > 0 {
			f.lines = lines
			frames = append(frames, f)
		}
	}
	clear(e.history[len(frames):])
	e.history = frames
	if e.observed {
		e.prune(e.lastMS)
	}
}

func (e *Evaluator) setRules(r *Rules, m Matcher) {
	if r == nil {
		r = &Rules{}
	}
	if m == nil {
		m = NewMatcher(r)
	}
	channel := e.channel
	e.m, e.ignored, e.ignoredIDs, e.rules, e.maxWindow = m, make(map[string]bool), nil, nil, 0
	for _, b := range r.Brands {
		if channel != "" && slices.Contains(b.AuthorizedChannels, channel) {
			e.ignored[b.ID] = true
			e.ignoredIDs = append(e.ignoredIDs, b.ID)
		}
	}
	for _, ru := range r.Rules {
		er := evalRule{
			id:       ru.ID,
			severity: ru.Severity,
			window:   min(ru.Window, MaxWindow).Milliseconds(),
			brand:    slices.Contains(ru.Require, KindBrand),
			phrase:   slices.Contains(ru.Require, KindPhrase),
		}
		if !er.brand && !er.phrase {
			continue // requires nothing Validate knows; never holds
		}
		er.window = max(er.window, 0)
		e.maxWindow = max(e.maxWindow, er.window)
		e.rules = append(e.rules, er)
	}
	slices.SortStableFunc(e.rules, func(a, b evalRule) int { return cmp.Compare(a.id, b.id) })
}

// IgnoredBrands returns the ids of the brands ignored on this channel, in the
// order of the rules file.
func (e *Evaluator) IgnoredBrands() []string {
	return slices.Clone(e.ignoredIDs)
}

// Reset forgets the history, as after a seek or a restarted stream.
func (e *Evaluator) Reset() {
	clear(e.history)
	e.history = e.history[:0]
	e.observed = false
}

// Observe matches the lines of the sampled frame at mediaMS and returns the
// rules that hold at this frame, sorted by rule id; nil if none does. Call it
// once per sampled frame, in increasing media time; if media time goes back,
// the history is forgotten first, as by Reset.
//
// A rule holds if this frame has a hit of a kind the rule requires and every
// kind it requires has a hit within [mediaMS-window, mediaMS] (window 0: this
// frame alone). The Hit lists all brand and phrase ids matched in the window
// and, as evidence, up to 5 lines holding a required kind: this frame's lines
// first, then by confidence, and at least one line for each required kind.
//
// A weak brand (found only fuzzily or by look-alikes on a line read below
// WeakConfidence, see How.Weak) counts only with support within the longest
// window: the brand found well on another line, or weakly by another engine,
// or weakly in an earlier frame in other words. The same junk reading kept
// over unchanged pixels supports nothing.
func (e *Evaluator) Observe(mediaMS int64, lines []Line) []Hit {
	if e.observed && mediaMS < e.lastMS {
		e.Reset()
	}
	e.observed, e.lastMS = true, mediaMS
	e.prune(mediaMS)

	cur := frameHits{atMS: mediaMS}
	im, _ := e.m.(IntoMatcher)
	for _, l := range lines {
		res := &e.res
		if im != nil {
			im.MatchInto(l.Text, res)
		} else {
			*res = e.m.Match(l.Text)
		}
		if len(res.Brands) == 0 && len(res.Phrases) == 0 {
			continue
		}
		lh := lineHits{
			ev:      Evidence{AtMS: mediaMS, Text: l.Text, Confidence: l.Confidence, Box: l.Box},
			engine:  l.Engine,
			phrases: slices.Clone(res.Phrases),
		}
		for _, id := range res.Brands {
			switch {
			case e.ignored[id]:
			case weakBrand(res, id, l.Confidence):
				lh.weak = append(lh.weak, id)
			default:
				lh.brands = append(lh.brands, id)
			}
		}
		if len(lh.brands) > 0 || len(lh.phrases) > 0 || len(lh.weak) > 0 {
			cur.lines = append(cur.lines, lh)
		}
	}
	if len(cur.lines) == 0 {
		return nil
	}
	e.support(&cur)

	var hits []Hit
	for _, ru := range e.rules {
		if h, ok := e.evaluate(ru, &cur); ok {
			hits = append(hits, h)
		}
	}
	if e.maxWindow > 0 {
		if len(e.history) >= maxHistoryFrames {
			e.history[0] = frameHits{}
			e.history = e.history[1:]
		}
		e.history = append(e.history, cur)
	}
	return hits
}

// weakBrand reports whether brand id is found in res, read with
// confidence, only by weak spans (How.Weak).
func weakBrand(res *Result, id string, confidence float64) bool {
	for _, sp := range res.Spans {
		if sp.Kind == KindBrand && sp.ID == id && !sp.How.Weak(confidence) {
			return false
		}
	}
	return true
}

// support counts the weak brands of cur's lines that something else
// confirms, within the longest window: the brand found well on another
// line (of this frame or an earlier one), or weakly by another engine, or
// weakly in an earlier frame in other words (another reading, not the same
// junk read again or kept over unchanged pixels).
func (e *Evaluator) support(cur *frameHits) {
	type weakOne struct {
		id, text, engine string
		line             int
	}
	var weak []weakOne
	for i, lh := range cur.lines {
		for _, id := range lh.weak {
			weak = append(weak, weakOne{id, lh.ev.Text, lh.engine, i})
		}
	}
	if len(weak) == 0 {
		return
	}
	supports := func(w weakOne, lh *lineHits, earlier bool) bool {
		if slices.Contains(lh.brands, w.id) {
			return true
		}
		return slices.Contains(lh.weak, w.id) && (lh.engine != w.engine || earlier && lh.ev.Text != w.text)
	}
	supported := make([]bool, len(weak))
	for k, w := range weak {
		for i := range cur.lines {
			if i != w.line && supports(w, &cur.lines[i], false) {
				supported[k] = true
			}
		}
		for i := len(e.history) - 1; i >= 0 && !supported[k] && e.history[i].atMS >= cur.atMS-e.maxWindow; i-- {
			for j := range e.history[i].lines {
				supported[k] = supported[k] || supports(w, &e.history[i].lines[j], true)
			}
		}
	}
	// Counted only now, so that what supports a line does not depend on the
	// order of the lines.
	for k, w := range weak {
		if supported[k] {
			lh := &cur.lines[w.line]
			lh.weak = slices.DeleteFunc(lh.weak, func(id string) bool { return id == w.id })
			lh.brands = append(lh.brands, w.id)
		}
	}
	for i := range cur.lines {
		slices.Sort(cur.lines[i].brands)
	}
}

// prune drops the frames older than the longest window.
func (e *Evaluator) prune(nowMS int64) {
	i := 0
	for i < len(e.history) && e.history[i].atMS < nowMS-e.maxWindow {
		i++
	}
	if i == 0 {
		return
	}
	n := copy(e.history, e.history[i:])
	clear(e.history[n:])
	e.history = e.history[:n]
}

// candidate is a line that may serve as evidence.
type candidate struct {
	lh      *lineHits
	current bool // of the frame being observed
	order   int  // frames are visited newest first, so lower is newer
}

// stronger orders evidence: this frame's lines first, then by confidence,
// then newer first.
func stronger(a, b candidate) bool {
	if a.current != b.current {
		return a.current
	}
	if a.lh.ev.Confidence != b.lh.ev.Confidence {
		return a.lh.ev.Confidence > b.lh.ev.Confidence
	}
	return a.order < b.order
}

// evidencePicker keeps, in one pass over the window and without sorting it,
// the strongest lines overall and the strongest of each required kind.
type evidencePicker struct {
	top        []candidate // strongest first, at most maxEvidence
	bestBrand  candidate   // lh nil if none
	bestPhrase candidate
}

func (p *evidencePicker) add(c candidate) {
	if len(c.lh.brands) > 0 && (p.bestBrand.lh == nil || stronger(c, p.bestBrand)) {
		p.bestBrand = c
	}
	if len(c.lh.phrases) > 0 && (p.bestPhrase.lh == nil || stronger(c, p.bestPhrase)) {
		p.bestPhrase = c
	}
	i := len(p.top)
	for i > 0 && stronger(c, p.top[i-1]) {
		i--
	}
	if i < maxEvidence {
		if len(p.top) == maxEvidence {
			p.top = p.top[:maxEvidence-1]
		}
		p.top = slices.Insert(p.top, i, c)
	}
}

// pick returns the evidence: the strongest line of each required kind, then
// the strongest others, at most maxEvidence, strongest first.
func (p *evidencePicker) pick(ru evalRule) []Evidence {
	chosen := make([]candidate, 0, maxEvidence)
	has := func(c candidate) bool {
		return slices.ContainsFunc(chosen, func(x candidate) bool { return x.lh == c.lh })
	}
	if ru.brand && p.bestBrand.lh != nil {
		chosen = append(chosen, p.bestBrand)
	}
	if ru.phrase && p.bestPhrase.lh != nil && !has(p.bestPhrase) {
		chosen = append(chosen, p.bestPhrase)
	}
	for _, c := range p.top {
		if len(chosen) == maxEvidence {
			break
		}
		if !has(c) {
			chosen = append(chosen, c)
		}
	}
	slices.SortFunc(chosen, func(a, b candidate) int {
		if stronger(a, b) {
			return -1
		}
		return 1
	})
	ev := make([]Evidence, len(chosen))
	for i, c := range chosen {
		ev[i] = c.lh.ev
	}
	return ev
}

func (e *Evaluator) evaluate(ru evalRule, cur *frameHits) (Hit, bool) {
	has := func(lh *lineHits) bool {
		return ru.brand && len(lh.brands) > 0 || ru.phrase && len(lh.phrases) > 0
	}
	if !slices.ContainsFunc(cur.lines, func(lh lineHits) bool { return has(&lh) }) {
		return Hit{}, false
	}
	h := Hit{Rule: ru.id, Severity: ru.severity, Brands: []string{}, Phrases: []string{}}
	var p evidencePicker
	order := 0
	var curBrands, curPhrases bool
	visit := func(f *frameHits, current bool) {
		for li := range f.lines {
			lh := &f.lines[li]
			if current || !curBrands {
				h.Brands = addUnique(h.Brands, lh.brands)
			}
			if current || !curPhrases {
				h.Phrases = addUnique(h.Phrases, lh.phrases)
			}
			// A line of an earlier frame is evidence only for the kind it fills in.
			fills := current || ru.brand && !curBrands && len(lh.brands) > 0 || ru.phrase && !curPhrases && len(lh.phrases) > 0
			if has(lh) && fills {
				p.add(candidate{lh: lh, current: current, order: order})
				order++
			}
		}
	}
	visit(cur, true)
	// What the current frame shows names the segment; the window only fills in
	// a kind the frame lacks. Otherwise an innocent brand caption shown just
	// before a counterfeit one would be named in its alert.
	curBrands, curPhrases = len(h.Brands) > 0, len(h.Phrases) > 0
	if ru.window > 0 {
		from := cur.atMS - ru.window
		for i := len(e.history) - 1; i >= 0 && e.history[i].atMS >= from; i-- {
			visit(&e.history[i], false)
		}
	}
	if ru.brand && len(h.Brands) == 0 || ru.phrase && len(h.Phrases) == 0 {
		return Hit{}, false
	}
	slices.Sort(h.Brands)
	slices.Sort(h.Phrases)
	h.Evidence = p.pick(ru)
	return h, true
}

// addUnique appends the ids not yet in set; sets hold a few ids.
func addUnique(set, ids []string) []string {
	for _, id := range ids {
		if !slices.Contains(set, id) {
			set = append(set, id)
		}
	}
	return set
}
