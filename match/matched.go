package match

// Remembers reports whether the frame of the last Observe is in the
// evaluator's history: it had a line matching a brand or a phrase and some
// rule has a window, so that line may be evidence of a later frame's hit.
// It is false before the first Observe.
func (e *Evaluator) Remembers() bool {
	n := len(e.history)
	return e.observed && n > 0 && e.history[n-1].atMS == e.lastMS
}
