package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names the environment variable that, when set to a file
// name, makes the daemon write a CPU profile of its whole run to that file
// (for go tool pprof). It is off unless set; it exists for measuring.
const cpuProfileEnv = "NEOSOCKSD_CPUPROFILE"

// startCPUProfile starts the CPU profile asked for by cpuProfileEnv and
// returns the function that stops it and closes the file; it returns a
// no-op when the variable is unset or the profile cannot start.
func startCPUProfile(log *slog.Logger) func() {
	name := os.Getenv(cpuProfileEnv)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		log.Warn("cpu profile", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		log.Warn("cpu profile", "err", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Warn("cpu profile", "err", err)
		}
	}
}
