package main

import (
	"os"
	"runtime"
)

// defaultProcs sets how many OS threads run Go code at once (GOMAXPROCS)
// when the environment leaves it to us: one, like the C original's single
// event loop. System calls still run on threads of their own, so a relay
// blocked in the kernel does not stop the others; what one processor
// saves is the Go scheduler's hand-offs between threads (waking idle
// processors for every ready goroutine, spinning, migrating work), which
// for a proxy whose work is mostly kernel TCP cost more than the second
// processor gives.
//
// Measured with the loopback harness (run.sh -r 3, interleaved, the same
// build with GOMAXPROCS=1 against the runtime default of 2, on 2 cores
// shared with the load client and the sink): set-ups per second
// 1.11-1.22x, proxy CPU per set-up 0.82-0.90x, unloaded handshake
// p50/p99 0.80-0.94x, bulk throughput 0.98-1.03x, but bulk CPU per GB
// 1.06-1.26x (a splice of a full pipe holds the only processor until the
// runtime hands it off). A deployment that wants more processors sets
// GOMAXPROCS in the environment, which is then used as given.
func defaultProcs() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}
