package procfs

import (
	"fmt"
	"strings"
	"testing"
)

// encodeProcAddr writes an address the way /proc/net/tcp does.
func encodeProcAddr(b []byte, port uint16) string {
	var s strings.Builder
	for w := 0; w < len(b); w += 4 {
		fmt.Fprintf(&s, "%02X%02X%02X%02X", b[w+3], b[w+2], b[w+1], b[w])
	}
	fmt.Fprintf(&s, ":%04X", port)
	return s.String()
}

// Whatever parseProcAddr accepts, written back in the kernel's format,
// parses to the same address.
func FuzzParseProcAddr(f *testing.F) {
	for _, s := range []string{"0100007F:2B18", "00000000000000000000000001000000:4A38", "0000000000000000FFFF00000100007F:0050", "x:1", ":", "0100007F:FFFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, ok := parseProcAddr(s)
		if !ok {
			return
		}
		ip := ap.Addr().AsSlice()
		back, ok := parseProcAddr(encodeProcAddr(ip, ap.Port()))
		if !ok || back != ap {
			t.Fatalf("%q parsed as %v, which writes back as %q and parses as %v", s, ap, encodeProcAddr(ip, ap.Port()), back)
		}
	})
}

// parseStatus and parseStatCPU never panic, and a status they accept has
// no negative figure unless the input had one.
func FuzzParseStatus(f *testing.F) {
	f.Add("VmHWM:\t   14700 kB\nVmRSS:\t    9000 kB\nThreads:\t5\n")
	f.Add("42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseStatus(strings.NewReader(s))
		if err == nil && !strings.Contains(s, "-") && (st.RSS < 0 || st.HWM < 0 || st.Threads < 0) {
			t.Fatalf("negative figures %+v from %q", st, s)
		}
		if v, err := parseStatCPU([]byte(s)); err == nil && v < 0 {
			t.Fatalf("negative CPU time %v from %q", v, s)
		}
	})
}
