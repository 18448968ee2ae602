package rtdefaults

import (
	"os"
	"runtime"
)

// Procs sets how many OS threads run Go code at once (GOMAXPROCS)
// when the environment leaves it to us: one, like the C original's single
// event loop. System calls still run on threads of their own, so a relay
// blocked in the kernel does not stop the others; what one processor
// saves is the Go scheduler's hand-offs between threads (waking idle
// processors for every ready goroutine, spinning, migrating work), which
// for a proxy whose work is mostly kernel TCP cost more than the second
// processor gives.
//
// Measured with the loopback harness (run.sh -r 3, interleaved, the same
// build with GOMAXPROCS=1 against GOMAXPROCS=2, the runtime default here,
// on 2 cores shared with the load client and the sink): set-ups per
// second 1.05-1.19x, proxy CPU per set-up 0.86-0.91x, handshake p99 under
// load 0.73-0.88x and unloaded 0.77-0.89x, bulk throughput 1.01-1.04x with
// 0.91-0.96x the CPU per GB on one tunnel. Eight tunnels at once are the
// cost: 1.75x the CPU per GB in that run, 1.08-1.12x at 0.89-0.92x the
// throughput in four alternating stand-alone runs of the download phase
// (perf stat; the kernel's copying is 95 % of it either way, and one
// processor serves the ready tunnels one after the other where two spread
// them over both cores). A deployment that wants more processors sets
// GOMAXPROCS in the environment, which is then used as given.
//
// The daemon applies the same rule in cmd/neosocksd/internal/oneproc,
// as packages initialize, which this package's imports would make too
// late (that package's doc says why it matters).
func Procs() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}
