//go:build !linux

package api

import "time"

type procStats struct {
	rss, vsize uint64
	startTime  float64
}

func processCPU() (time.Duration, bool) { return 0, false }
func readProcStats() (procStats, bool)  { return procStats{}, false }
func openFDs() (uint64, bool)           { return 0, false }
func maxFDs() (uint64, bool)            { return 0, false }
