//go:build race

package api

// raceEnabled: memory measurements mean nothing under the race detector.
const raceEnabled = true
