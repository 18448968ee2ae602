//go:build race

package script

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items at random), so allocation counts are not checked under it.
const raceEnabled = true
