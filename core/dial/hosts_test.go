package dial

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// syntheticHosts exercises every rule of HostsTable; the table of
// TestParseHosts and the namespace oracle (hosts_linux_test.go) both
// read it.
const syntheticHosts = "# a comment line\n" +
	"127.0.0.1\tlocalhost loop.test   # aliases, then a comment\n" +
	"127.0.0.2 Upper.Test.\n" +
	"127.0.0.3 dup.test\n" +
	"127.0.0.3 dup.test\n" +
	"127.0.0.4 multi.test\n" +
	"127.0.0.5 multi.test\n" +
	"127.0.0.6 dual.test\n" +
	"::1 dual.test v6only.test\n" +
	"fe80::1%lo zoned.test\n" +
	"fe80::2%lo zones.test\n" +
	"fe80::2%eth0 zones.test\n" +
	"::ffff:127.0.0.7 mapped.test\n" +
	"127.0.0.7 mapped.test\n" +
	":: unspecified.test\n" +
	"127.0.0.8 1.2.3.4\n" +
	"127.0.0.9 dotless\n" +
	"127.0.0.10 crlf.test\r\n" +
	"127.0.0.11\vvtab.test\n" +
	"bogus bad.test\n" +
	"127.0.0.12\n" +
	"010.0.0.1 octal.test\n" +
	"127.0.0.13 per%cent.test back\\slash.test\n" +
	"fe80::3%a%b pctzone.test\n" +
	"127.0.0.14 last.test"

func TestParseHosts(t *testing.T) {
	h := ParseHosts([]byte(syntheticHosts))
	tests := []struct {
		name    string
		network string
		want    string // "": not answered, left to the resolver
	}{
		{"localhost", "ip", "127.0.0.1"},
		{"LocalHost", "ip", "127.0.0.1"},
		{"localhost.", "ip", ""}, // a name without a dot does not match with one
		{"loop.test", "ip4", "127.0.0.1"},
		{"loop.test.", "ip", "127.0.0.1"},
		{"loop.test", "ip6", ""},
		{"upper.test", "ip", "127.0.0.2"},
		{"UPPER.TEST.", "ip", "127.0.0.2"},
		{"upper.test..", "ip", ""},
		{"dup.test", "ip", "127.0.0.3"},
		{"multi.test", "ip", ""}, // two addresses: RFC 6724 orders them
		{"multi.test", "ip6", ""},
		{"dual.test", "ip", ""},
		{"dual.test", "ip4", "127.0.0.6"},
		{"dual.test", "ip6", "::1"},
		{"v6only.test", "ip", "::1"},
		{"v6only.test", "ip4", ""},
		{"zoned.test", "ip6", "fe80::1"},
		{"zones.test", "ip", "fe80::2"},
		{"mapped.test", "ip", "127.0.0.7"},
		{"mapped.test", "ip4", "127.0.0.7"},
		{"mapped.test", "ip6", ""},
		{"unspecified.test", "ip", "::"},
		{"unspecified.test", "ip6", "::"},
		{"unspecified.test", "ip4", "0.0.0.0"},
		{"1.2.3.4", "ip", ""}, // a literal: the resolver returns it
		{"1.2.3.4.", "ip", "127.0.0.8"},
		{"dotless", "ip", "127.0.0.9"},
		{"DOTLESS", "ip", "127.0.0.9"},
		{"crlf.test", "ip", "127.0.0.10"},
		{"vtab.test", "ip", ""}, // \v is no separator: "127.0.0.11\vvtab.test" is one field
		{"bad.test", "ip", ""},
		{"octal.test", "ip", ""},
		{"per%cent.test", "ip", ""},
		{`back\slash.test`, "ip", ""},
		{"pctzone.test", "ip", ""},
		{"last.test", "ip", "127.0.0.14"},
		{"comment", "ip", ""},
		{"a", "ip", ""},
		{"", "ip", ""},
		{".", "ip", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.network, func(t *testing.T) {
			ip, ok := h.Lookup(tc.name, tc.network)
			if tc.want == "" {
				if ok {
					t.Fatalf("answered %v, want no answer", ip)
				}
				return
			}
			if !ok || ip != netip.MustParseAddr(tc.want) {
				t.Fatalf("got %v %v, want %s", ip, ok, tc.want)
			}
			if ip.Is4() != strings.Contains(tc.want, ".") {
				t.Fatalf("%v: IPv4 must be in 4-byte form", ip)
			}
		})
	}
	var nilTable *HostsTable
	if _, ok := nilTable.Lookup("localhost", "ip"); ok || nilTable.Len() != 0 {
		t.Error("a nil table answered")
	}
}

// TestParseHostsLongLine: Go's reader stops at the first line of 64 KiB
// or more, so the names after it are not in the file for Go either.
func TestParseHostsLongLine(t *testing.T) {
	long := "127.0.0.1 " + strings.Repeat("x", maxHostsLine-len("127.0.0.1 ")-1) // 65 535 bytes
	h := ParseHosts([]byte("127.0.0.2 before.test\n" + long + "\n127.0.0.3 after.test\n" + long + "x\n127.0.0.4 gone.test\n"))
	for name, want := range map[string]bool{"before.test": true, "after.test": true, "gone.test": false} {
		if _, ok := h.Lookup(name, "ip"); ok != want {
			t.Errorf("%s answered %v, want %v", name, ok, want)
		}
	}
}

// writeFiles writes a hosts file, nsswitch.conf and resolv.conf into a
// new directory and returns a cache over them with a clock the test sets.
func writeFiles(t *testing.T, hosts, nss, resolv string) (*hostsCache, *int64, string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"hosts": hosts, "nsswitch.conf": nss, "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var now int64
	c := newHostsCache(filepath.Join(dir, "hosts"), filepath.Join(dir, "nsswitch.conf"), filepath.Join(dir, "resolv.conf"))
	c.clock = func() int64 { return now }
	return c, &now, dir
}

func wantAnswer(t *testing.T, c *hostsCache, name, want string) {
	t.Helper()
	ip, ok := c.lookup(name, "ip")
	switch {
	case want == "" && ok:
		t.Fatalf("%s answered %v, want the resolver", name, ip)
	case want != "" && (!ok || ip.String() != want):
		t.Fatalf("%s = %v %v, want %s", name, ip, ok, want)
	}
}

// TestHostsReload: the cache answers from the file as it was until the
// re-check interval has passed, then from the file as it is.
func TestHostsReload(t *testing.T) {
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere (GODEBUG netdns, LOCALDOMAIN, ...)")
	}
	c, now, dir := writeFiles(t, "127.0.0.1 reload.test\n", "hosts: files dns\n", "nameserver 127.0.0.1\n")
	wantAnswer(t, c, "reload.test", "127.0.0.1")
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hosts", "127.0.0.22 reload.test\n127.0.0.3 new.test\n")
	*now += int64(hostsRecheck) - 1
	wantAnswer(t, c, "reload.test", "127.0.0.1") // not looked at yet
	wantAnswer(t, c, "new.test", "")
	*now++
	wantAnswer(t, c, "reload.test", "127.0.0.22")
	wantAnswer(t, c, "new.test", "127.0.0.3")

	write("nsswitch.conf", "hosts: dns files\n")
	*now += int64(hostsRecheck)
	wantAnswer(t, c, "reload.test", "")
	write("nsswitch.conf", "hosts: files dns\n")
	write("resolv.conf", "options ndots:1 inet6\n")
	*now += int64(hostsRecheck)
	wantAnswer(t, c, "reload.test", "")
	write("resolv.conf", "options ndots:1\n")
	*now += int64(hostsRecheck)
	wantAnswer(t, c, "reload.test", "127.0.0.22")

	if err := os.Remove(filepath.Join(dir, "hosts")); err != nil {
		t.Fatal(err)
	}
	*now += int64(hostsRecheck)
	wantAnswer(t, c, "reload.test", "")
}

// TestHostsConcurrentRefresh: lookups from many goroutines while the
// file is re-checked and re-read (for the race detector): every answer is
// one of the file's two versions.
func TestHostsConcurrentRefresh(t *testing.T) {
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere")
	}
	c, _, dir := writeFiles(t, "127.0.0.1 race.test\n", "hosts: files\n", "")
	var now atomic.Int64
	c.clock = now.Load
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				if ip, ok := c.lookup("race.test", "ip"); ok && ip.String() != "127.0.0.1" && ip.String() != "127.0.0.2" {
					t.Errorf("answered %v", ip)
					return
				}
			}
		}()
	}
	for i := range 20 {
		text := fmt.Sprintf("127.0.0.%d race.test\n", 1+i%2)
		if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(text+strings.Repeat("#\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		now.Add(int64(hostsRecheck))
	}
	wg.Wait()
}

func TestNSSwitchFilesFirst(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
	}{
		{"debian default", "passwd: files\nhosts:          files dns\nnetworks: files\n", true},
		{"files only", "hosts: files\n", true},
		{"comments", "# hosts: dns\nhosts: files dns # then dns\n", true},
		{"two lines", "hosts: files\nhosts: dns\n", true},
		{"dns first", "hosts: dns files\n", false},
		{"no hosts line", "passwd: files\n", false},
		{"empty hosts", "hosts:\n", false},
		{"mdns", "hosts: files mdns4_minimal [NOTFOUND=return] dns\n", false},
		{"myhostname", "hosts: files dns myhostname\n", false},
		{"criteria elsewhere", "hosts: files dns\npasswd: files [NOTFOUND=return] db\n", false},
		{"tab is not a separator", "hosts: files\tdns\n", false},
		{"no colon", "hosts: files dns\ngarbage\n", false},
		{"upper case database", "Hosts: files\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "nsswitch.conf")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := nsswitchFilesFirst(p); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if nsswitchFilesFirst(filepath.Join(t.TempDir(), "absent")) {
		t.Error("a missing nsswitch.conf must be left to the resolver")
	}
}

func TestResolvConfPlain(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
	}{
		{"nameservers", "nameserver 127.0.0.1\nnameserver ::1\n", true},
		{"search and options", "; comment\n# comment\nsearch a.test b.test\ndomain a.test\noptions ndots:2 timeout:1 attempts:3 rotate edns0 trust-ad\n", true},
		{"unknown option", "options inet6\n", false},
		{"comment after options", "options ndots:1 # note\n", false},
		{"unknown keyword", "sortlist 130.155.160.0/255.255.240.0\n", false},
		{"empty", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "resolv.conf")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := resolvConfPlain(p); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if !resolvConfPlain(filepath.Join(t.TempDir(), "absent")) {
		t.Error("a missing resolv.conf is Go's default configuration")
	}
	if resolvConfPlain(t.TempDir()) {
		t.Error("a resolv.conf that cannot be read is left to the resolver")
	}
}

// TestHostsCounters: a name of the hosts file is one query and one
// success to the counters, as through the resolver, and reaches no
// nameserver; Dial resolves its first hop the same way.
func TestHostsCounters(t *testing.T) {
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere")
	}
	dns := startDNS(t, map[string][]netip.Addr{"dns.test.": {netip.MustParseAddr("127.0.0.2")}})
	c, _, _ := writeFiles(t, "127.0.0.1 file.test\n", "hosts: files dns\n", "")
	st := &stats.Counters{}
	d := New(Options{Nameserver: dns.addr.String(), Stats: st})
	d.hosts = c
	ip, err := d.Resolve(testCtx(t), "FILE.test")
	if err != nil || ip != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("got %v %v", ip, err)
	}
	if st.DNSQuery.Load() != 1 || st.DNSSuccess.Load() != 1 || dns.count() != 0 {
		t.Fatalf("hosts answer: counters %d/%d, nameserver asked %d times", st.DNSQuery.Load(), st.DNSSuccess.Load(), dns.count())
	}
	if ip, err = d.Resolve(testCtx(t), "dns.test."); err != nil || ip != netip.MustParseAddr("127.0.0.2") || dns.count() == 0 {
		t.Fatalf("a name not in the file: %v %v, nameserver asked %d times", ip, err, dns.count())
	}
	if _, err = d.Resolve(testCtx(t), "nowhere.test."); err == nil {
		t.Fatal("nowhere.test resolved")
	}
	if st.DNSQuery.Load() != 3 || st.DNSSuccess.Load() != 2 {
		t.Fatalf("counters %d/%d, want 3/2", st.DNSQuery.Load(), st.DNSSuccess.Load())
	}

	ap := serve(t, "tcp4", echo)
	asked := dns.count()
	conn, err := d.Dial(testCtx(t), addr.FromDomain("file.test", ap.Port()), route.Chain{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, conn, "by a hosts name")
	conn.Close()
	if st.DNSQuery.Load() != 4 || st.DNSSuccess.Load() != 3 || dns.count() != asked {
		t.Fatalf("dial: counters %d/%d, nameserver asked %d more times", st.DNSQuery.Load(), st.DNSSuccess.Load(), dns.count()-asked)
	}
}

// TestNewUsesSystemHosts: the system resolver's Dialers share the one
// system hosts cache; a --nameserver Dialer has none.
func TestNewUsesSystemHosts(t *testing.T) {
	if a, b := New(Options{}), New(Options{ResolvePF: 1}); a.hosts != systemHosts || b.hosts != systemHosts {
		t.Error("system resolver Dialers do not share the system hosts cache")
	}
	if d := New(Options{Nameserver: "127.0.0.1"}); d.hosts != nil {
		t.Error("a --nameserver Dialer answers from the hosts file")
	}
}

// oracleNames returns the names of the hosts file at path, each also in
// upper case and with a final dot, and names it does not have.
func oracleNames(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no hosts file: %v", err)
	}
	names := []string{"absent.invalid", "localhost", "LOCALHOST", "localhost.", "ip6-localhost", "127.0.0.1", "::1"}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, n := range f[1:] {
			names = append(names, n, strings.ToUpper(n), n+".", strings.TrimSuffix(n, ".")+"x")
		}
	}
	return names
}

// compareWithResolver compares the answers of look for names with the
// first answer of Go's resolver, and returns how many it answered.
func compareWithResolver(t *testing.T, names []string, look func(name, network string) (netip.Addr, bool)) int {
	t.Helper()
	answered := 0
	for _, name := range names {
		for _, network := range []string{"ip", "ip4", "ip6"} {
			ip, ok := look(name, network)
			if !ok {
				continue
			}
			answered++
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ips, err := net.DefaultResolver.LookupNetIP(ctx, network, name)
			cancel()
			if err != nil || len(ips) == 0 {
				t.Errorf("%s %s: answered %v, the resolver: %v %v", name, network, ip, ips, err)
				continue
			}
			want := ips[0]
			if network != "ip6" {
				want = want.Unmap()
			}
			if ip != want {
				t.Errorf("%s %s: answered %v, the resolver's first answer is %v (of %v)", name, network, ip, want, ips)
			}
		}
	}
	return answered
}

// FuzzParseHosts: any file parses, and whatever a name of it answers is
// one of the addresses given for it (less its zone, in 4-byte form for
// IPv4).
func FuzzParseHosts(f *testing.F) {
	f.Add([]byte(syntheticHosts))
	f.Add([]byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := ParseHosts(data)
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			for _, name := range f {
				for _, network := range []string{"ip", "ip4", "ip6"} {
					ip, ok := h.Lookup(name, network)
					if !ok {
						continue
					}
					if !fitsNetwork(ip, network) && !(network == "ip4" && ip == netip.IPv4Unspecified()) {
						t.Fatalf("%s %s: %v is not of the network", name, network, ip)
					}
					if ip.Zone() != "" || ip.Is4In6() {
						t.Fatalf("%s %s: %v not in answer form", name, network, ip)
					}
				}
			}
		}
	})
}

// BenchmarkResolveHostsName resolves "localhost" from the system hosts
// file through the shared cache, as the daemon's set-ups by name do.
func BenchmarkResolveHostsName(b *testing.B) {
	d := New(Options{Stats: &stats.Counters{}})
	if _, ok := d.hosts.lookup("localhost", d.network); !ok {
		b.Skip("the system hosts file does not answer localhost here")
	}
	benchResolve(b, d)
}

// BenchmarkResolveViaResolver resolves "localhost" through Go's resolver,
// which answers it from the same file: the path before the cache.
func BenchmarkResolveViaResolver(b *testing.B) {
	d := New(Options{Stats: &stats.Counters{}})
	d.hosts = nil
	benchResolve(b, d)
}

func benchResolve(b *testing.B, d *Dialer) {
	ctx := testCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Resolve(ctx, "localhost"); err != nil {
			b.Fatal(err)
		}
	}
}
