// Package rtdefaults sets the Go runtime's defaults the daemon ships with
// (one processor, GOGC=50), each only when the environment leaves it to
// us. The daemon applies them at start-up, and nsbench's event-loop
// experiment applies the same ones, so that the two compare as the daemon
// is shipped.
package rtdefaults
