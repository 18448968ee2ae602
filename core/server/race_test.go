//go:build race

package server

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items at random under it), so allocation counts are not checked then.
const raceEnabled = true
