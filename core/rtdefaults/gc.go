package rtdefaults

import (
	"os"
	"runtime/debug"
)

// GCPercent is the collector's target (GOGC) unless the
// environment sets GOGC or GOMEMLIMIT.
const GCPercent = 50

// GC lowers the collector's target from the runtime's 100 to
// GCPercent when the environment leaves the collector to us. The
// runtime lets the heap grow to at least 4 MiB × GOGC/100 between
// collections; a proxy keeps little alive between set-ups, so that floor,
// not the live heap, is what a burst of set-ups leaves resident.
//
// Measured with 16 000 SOCKS5 set-ups from 32 concurrent clients on
// loopback (VmHWM at the end, two runs each; see cmd/nsbench/EXPERIMENTS.md):
// GOGC=100 14.0-14.5 MB, 50 12.1 MB, 25 11.3 MB, with the proxy's CPU per
// set-up within the runs' spread. A GOMEMLIMIT-style soft limit low enough
// to matter (4-6 MiB) made the collector run nearly continuously (1.9-5.8x
// the CPU per set-up), and would do so for any deployment whose live heap
// (a large ruleset, many idle tunnels) is above it, so none is set. A
// deployment that prefers the runtime's default sets GOGC=100; one that
// wants a limit sets GOMEMLIMIT, and then the GOGC default is left alone
// too.
//
// The heap the collector frees is returned to the system by the runtime's
// scavenger and by core/server's release after large drops; a lower
// target only makes the peak those start from smaller.
func GC() {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if !gogc && !limit {
		debug.SetGCPercent(GCPercent)
	}
}
