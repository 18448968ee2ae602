// Package oneproc puts the daemon on one processor as packages
// initialize, before the packages that allocate at start-up do. The
// daemon imports it for that effect alone, as main's first import.
//
// The rule is rtdefaults.Procs': GOMAXPROCS=1 unless the environment
// sets GOMAXPROCS. It is written out here because rtdefaults imports os
// and runtime/debug, which would make this package initialize after the
// Lua and regex packages' initializers: this one imports only runtime
// and syscall, so it runs among the first (GODEBUG=inittrace=1 shows the
// order; TestOneProcessorBeforeInitializersAllocate checks it).
//
// Why not in main: when GOMAXPROCS drops, the runtime hands each dropped
// processor's cached spans back to the heap's central lists, and the
// first span a list takes in costs it a 4 KiB block. The main goroutine
// often runs the package initializers on the processor that is then
// dropped (it is woken on whichever processor is free after its first
// wait, in the runtime's own start-up), so that processor's cache holds
// spans of most size classes by then: 110-odd blocks, about 0.5 MB
// resident for the rest of the process, a tenth of the C original's
// whole VmHWM. Dropped before the initializers run, it has cached almost
// nothing. Measured on the static build with no traffic: RssAnon 1.0-1.2
// MB against 1.0-1.5 MB (1.5 MB in 9 starts of 12), and 0.95 MB with
// GOMAXPROCS=1 in the environment (cmd/nsbench/EXPERIMENTS.md section
// 17).
package oneproc

import (
	"runtime"
	"syscall"
)

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}
