//go:build race

package conformance

// raceEnabled: the race detector slows the suite about sixfold; it runs
// fewer random rulesets then.
const raceEnabled = true
