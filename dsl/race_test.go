//go:build race

package dsl

// raceEnabled: the race detector instruments every allocation and
// memory access, so the bytes a load allocates are not checked under it.
const raceEnabled = true
