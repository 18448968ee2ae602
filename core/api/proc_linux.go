package api

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of the process.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

type procStats struct {
	rss, vsize uint64
	startTime  float64 // seconds since the epoch, 0 if unknown
}

// clockTicks is USER_HZ, 100 on every Linux ABI Go supports.
const clockTicks = 100

// readProcStats reads /proc/self/stat (and btime from /proc/stat).
func readProcStats() (procStats, bool) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return procStats{}, false
	}
	// Fields after the command name, which is in parentheses and may
	// contain anything.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStats{}, false
	}
	f := bytes.Fields(data[i+1:])
	// f[0] is field 3 (state); starttime is 22, vsize 23, rss 24.
	if len(f) < 22 {
		return procStats{}, false
	}
	start, err1 := strconv.ParseUint(string(f[19]), 10, 64)
	vsize, err2 := strconv.ParseUint(string(f[20]), 10, 64)
	rss, err3 := strconv.ParseUint(string(f[21]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStats{}, false
	}
	ps := procStats{rss: rss * uint64(os.Getpagesize()), vsize: vsize}
	if bt, ok := bootTime(); ok {
		ps.startTime = float64(bt) + float64(start)/clockTicks
	}
	return ps, true
}

func bootTime() (uint64, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// openFDs counts the entries of /proc/self/fd.
func openFDs() (uint64, bool) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, false
	}
	// The directory handle itself is one of the entries.
	return uint64(len(names) - 1), true
}

// maxFDs returns the soft RLIMIT_NOFILE.
func maxFDs() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return rl.Cur, true
}
