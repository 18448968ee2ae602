// Package procfs reads what the harness reports about the proxy under
// test from Linux's /proc: memory, CPU time, descriptors and threads, and
// which process owns a listening socket. It only reads.
package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Status holds the /proc/PID/status fields the harness reports.
type Status struct {
	RSS, HWM int64 // VmRSS and VmHWM, KiB
	Threads  int64
	// Voluntary and Involuntary are the context switches of the task
	// the file describes (for /proc/PID/status, the main thread only;
	// Switches sums them over every thread).
	Voluntary, Involuntary int64
}

// ReadStatus reads /proc/PID/status.
func ReadStatus(pid int) (Status, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Status{}, fmt.Errorf("procfs: %w", err)
	}
	defer f.Close()
	st, err := parseStatus(f)
	if err != nil {
		return Status{}, fmt.Errorf("procfs: /proc/%d/status: %w", pid, err)
	}
	return st, nil
}

func parseStatus(r io.Reader) (Status, error) {
	var st Status
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &st.RSS
		case "VmHWM":
			dst = &st.HWM
		case "Threads":
			dst = &st.Threads
		case "voluntary_ctxt_switches":
			dst = &st.Voluntary
		case "nonvoluntary_ctxt_switches":
			dst = &st.Involuntary
		default:
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Status{}, fmt.Errorf("%s: %w", key, err)
		}
		*dst = n
	}
	return st, sc.Err()
}

// Switches returns the voluntary and involuntary context switches of
// every thread pid has now (threads that have exited are not counted).
func Switches(pid int) (voluntary, involuntary int64, err error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("procfs: %w", err)
	}
	for _, e := range ents {
		f, err := os.Open(dir + "/" + e.Name() + "/status")
		if err != nil {
			continue // the thread has just exited
		}
		st, err := parseStatus(f)
		f.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("procfs: %s/%s/status: %w", dir, e.Name(), err)
		}
		voluntary += st.Voluntary
		involuntary += st.Involuntary
	}
	return voluntary, involuntary, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture the harness runs on.
const clockTicks = 100.0

// CPUSeconds returns the user plus system time of the whole process (all
// its threads) in seconds.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procfs: %w", err)
	}
	s, err := parseStatCPU(b)
	if err != nil {
		return 0, fmt.Errorf("procfs: /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

var errStatLine = errors.New("malformed stat line")

// parseStatCPU takes utime and stime (fields 14 and 15) from a stat line.
// The command name in field 2 may hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStatCPU(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errStatLine
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state), so utime is fields[11], stime fields[12]
	if len(fields) < 13 {
		return 0, errStatLine
	}
	ut, err1 := strconv.ParseUint(fields[11], 10, 64)
	st, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errStatLine
	}
	return float64(ut+st) / clockTicks, nil
}

// FDCount returns the number of open descriptors of pid, or -1 when they
// cannot be listed.
func FDCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// ListenerPID finds the process owning the TCP listening socket bound to
// addr (or to the wildcard address on its port) by matching the socket's
// inode in /proc/net/tcp{,6} against the descriptors in /proc/*/fd. The
// calling process is never the answer. A wrapper that forks the proxy
// (a shell, env -C, taskset) is thereby looked through.
func ListenerPID(addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0, fmt.Errorf("procfs: listener address: %w", err)
	}
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, ino := range listeningInodes(b, ap) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("procfs: no listener on %s", addr)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, err := os.ReadDir(p + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(p + "/fd/" + fd.Name())
			if err != nil {
				continue
			}
			ino, ok := strings.CutPrefix(link, "socket:[")
			if ok && inodes[strings.TrimSuffix(ino, "]")] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("procfs: the listener on %s has no visible owner", addr)
}

// listeningInodes returns the inodes of the sockets in a /proc/net/tcp
// table that listen on want's port, on want's address or the wildcard.
func listeningInodes(table []byte, want netip.AddrPort) []string {
	var out []string
	lines := strings.Split(string(table), "\n")
	for _, line := range lines[min(1, len(lines)):] { // the first line is a header
		f := strings.Fields(line)
		const listen = "0A"
		if len(f) < 10 || f[3] != listen {
			continue
		}
		local, ok := parseProcAddr(f[1])
		if !ok || local.Port() != want.Port() {
			continue
		}
		if ip := local.Addr().Unmap(); ip.IsUnspecified() || ip == want.Addr().Unmap() {
			out = append(out, f[9])
		}
	}
	return out
}

// parseProcAddr parses /proc/net/tcp's "ADDR:PORT": hexadecimal, the
// address as 32-bit words in host (little-endian) order.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw := make([]byte, len(h)/2)
	for w := 0; w < len(raw); w += 4 {
		word, err := strconv.ParseUint(h[2*w:2*w+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		raw[w], raw[w+1], raw[w+2], raw[w+3] = byte(word), byte(word>>8), byte(word>>16), byte(word>>24)
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip, uint16(port)), true
}
