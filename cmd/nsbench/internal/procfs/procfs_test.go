package procfs

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	in := "Name:\tneosocksd\nVmHWM:\t   14700 kB\nVmRSS:\t    9000 kB\nThreads:\t5\nSigQ:\t0/1\n" +
		"voluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n"
	st, err := parseStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Status{RSS: 9000, HWM: 14700, Threads: 5, Voluntary: 120, Involuntary: 7}); st != want {
		t.Errorf("parseStatus = %+v, want %+v", st, want)
	}
	if _, err := parseStatus(strings.NewReader("VmRSS:\tlots kB\n")); err == nil {
		t.Error("parseStatus accepted a non-number")
	}
}

// Switches of this process: a thread that sleeps switches voluntarily,
// so the sum grows across a sleep.
func TestSwitches(t *testing.T) {
	v0, _, err := Switches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		time.Sleep(time.Millisecond)
	}
	v1, _, err := Switches(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if v1 <= v0 {
		t.Errorf("voluntary switches %d then %d across three sleeps", v0, v1)
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		line string
		want float64
		err  bool
	}{
		{name: "plain", line: "42 (neosocksd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200", want: 3},
		{name: "name with spaces and parens", line: "7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", want: 0.03},
		{name: "short", line: "7 (x) R 1 2", err: true},
		{name: "no paren", line: "7 x R", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.line))
			if tc.err {
				if err == nil {
					t.Fatalf("parseStatCPU = %v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseProcAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{in: "0100007F:2B18", want: "127.0.0.1:11032"},
		{in: "00000000000000000000000001000000:4A38", want: "[::1]:19000"},
		{in: "0000000000000000FFFF00000100007F:0050", want: "[::ffff:127.0.0.1]:80"},
	}
	for _, tc := range tests {
		got, ok := parseProcAddr(tc.in)
		if !ok || got.String() != tc.want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007:0050", "0100007F:XYZ"} {
		if _, ok := parseProcAddr(bad); ok {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}

func TestReadOwnProcess(t *testing.T) {
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.RSS <= 0 || st.HWM < st.RSS || st.Threads < 1 {
		t.Errorf("own status %+v is implausible", st)
	}
	if _, err := CPUSeconds(os.Getpid()); err != nil {
		t.Error(err)
	}
	if n := FDCount(os.Getpid()); n < 3 {
		t.Errorf("FDCount = %d", n)
	}
}

func TestListeningInodes(t *testing.T) {
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:2B18 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1\n" +
		"   1: 00000000:2B19 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1\n" +
		"   2: 0100007F:2B18 0101007F:C000 01 00000000:00000000 00:00000000 00000000  1000        0 333 1\n" +
		"   3: 0200007F:2B18 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1\n"
	got := listeningInodes([]byte(table), netip.MustParseAddrPort("127.0.0.1:11032"))
	if strings.Join(got, ",") != "111" {
		t.Errorf("on 127.0.0.1:11032: %v, want [111]", got)
	}
	got = listeningInodes([]byte(table), netip.MustParseAddrPort("127.0.0.1:11033"))
	if strings.Join(got, ",") != "222" {
		t.Errorf("wildcard on 11033: %v, want [222]", got)
	}
}

// ListenerPID skips the calling process, so the owner of a listener this
// test opens is not findable; an address nobody listens on is an error.
func TestListenerPIDNoOwner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if pid, err := ListenerPID(addr); err == nil {
		t.Errorf("ListenerPID(own listener) = %d, want an error", pid)
	}
	ln.Close()
	if _, err := ListenerPID(addr); err == nil || !strings.Contains(err.Error(), "no listener") {
		t.Errorf("ListenerPID(closed) = %v, want no listener", err)
	}
}
