package server

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// TestLoopHostsName: a name the system hosts file answers is resolved on
// the loop itself (no worker, one DNS query and success counted, as
// DialTarget counts them), while a name only the resolver knows still
// goes to a worker.
func TestLoopHostsName(t *testing.T) {
	withLoop(t, true)
	echo := echoServer(t)
	echoAP := netip.MustParseAddrPort(echo)
	st := new(stats.Counters)
	d := dial.New(dial.Options{ResolvePF: config.PFInet, TCPNoDelay: true, Stats: st})
	name := addr.FromDomain("localhost", echoAP.Port())
	ap, answered, err := d.DialTargetNow(name)
	if !answered {
		t.Skip("the system hosts file does not answer localhost here (Go's resolver is asked)")
	}
	if err != nil || ap != echoAP {
		t.Skipf("localhost is %v, %v here, not the echo server's %v", ap, err, echoAP)
	}
	st.DNSQuery.Store(0)
	st.DNSSuccess.Store(0)

	ts := startServer(t, testConfig(), nil, d)
	if err := socks5Echo(ts.addr, "localhost:"+strconv.Itoa(int(echoAP.Port()))); err != nil {
		t.Fatal(err)
	}
	if got := ts.loopServed.Load(); got != 1 {
		t.Fatalf("the loop served %d connections, want 1", got)
	}
	if got := ts.loopLookups.Load(); got != 0 {
		t.Errorf("%d lookups posted to a worker for a hosts-file name, want 0", got)
	}
	if q, s := st.DNSQuery.Load(), st.DNSSuccess.Load(); q != 1 || s != 1 {
		t.Errorf("DNS counters %d queries, %d successes; want 1, 1", q, s)
	}

	// A name the hosts file lacks is the resolver's, on a worker (the
	// test's dialer answers it with the echo server, without a query).
	other := startServer(t, testConfig(), nil, echoOnlyDialer{Dialer: d, echo: echoAP})
	if err := socks5Echo(other.addr, "example.org:80"); err != nil {
		t.Fatal(err)
	}
	if got := other.loopLookups.Load(); got != 1 {
		t.Errorf("%d lookups posted to a worker for a resolver's name, want 1", got)
	}
}
