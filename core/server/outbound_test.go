package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
	"golang.org/x/net/proxy"
)

// countingDialer wraps a dialer and counts its dials, to tell which
// dialer served a connection.
type countingDialer struct {
	*dial.Dialer
	n chan struct{}
}

func (d countingDialer) Dial(ctx context.Context, t addr.Addr, hops route.Chain) (net.Conn, error) {
	d.n <- struct{}{}
	return d.Dialer.Dial(ctx, t, hops)
}

func TestReconfigureAppliesToNewConnections(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		first, second := echoServer(t), echoServer(t)
		conf := testConfig()
		conf.Forward = first
		ts := startServer(t, conf, nil, nil)

		c := dialProxy(t, ts.addr)
		echoRoundTrip(t, c, "one")
		c.Close()

		// A reload that fails keeps what there was. (A bad -x fails earlier,
		// building the dialer: see dial's TestOptionsFrom.)
		bad := *conf
		bad.Forward = "no-port"
		err := ts.Reconfigure(&bad, dial.New(dial.Options{TCPNoDelay: true}))
		if err == nil || !strings.Contains(err.Error(), "unable to parse outbound configuration") {
			t.Fatalf("bad -f accepted: %v", err)
		}

		next := *conf
		next.Forward = second
		d := countingDialer{Dialer: dial.New(dial.Options{TCPNoDelay: true}), n: make(chan struct{}, 4)}
		if err := ts.Reconfigure(&next, d); err != nil {
			t.Fatal(err)
		}
		c = dialProxy(t, ts.addr)
		defer c.Close()
		echoRoundTrip(t, c, "two")
		if len(d.n) != 1 {
			t.Fatalf("the new dialer served %d dials, want 1", len(d.n))
		}
		if got := ts.cur.Load().forward.String(); got != second {
			t.Fatalf("forward target %s, want %s", got, second)
		}

		// A configuration without -f keeps the forward target: the mode stays.
		none := *conf
		none.Forward = ""
		if err := ts.Reconfigure(&none, d); err != nil {
			t.Fatal(err)
		}
		if got := ts.cur.Load().forward.String(); got != second {
			t.Fatalf("forward target %s after a config without -f, want %s", got, second)
		}
	})
}

func TestReconfigureAppliesAuthAndLimits(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		target := echoServer(t)
		conf := testConfig()
		ts := startServer(t, conf, nil, nil)

		// Before: no authentication required, the no-auth method is chosen.
		c := dialProxy(t, ts.addr)
		if _, err := c.Write([]byte{5, 1, 0}); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, c, 2); got[1] != 0 {
			t.Fatalf("method %#x before the reload, want 00", got[1])
		}
		c.Close()

		next := *conf
		next.AuthRequired = true
		if err := ts.Reconfigure(&next, dial.New(dial.Options{TCPNoDelay: true})); err != nil {
			t.Fatal(err)
		}
		c = dialProxy(t, ts.addr)
		defer c.Close()
		if _, err := c.Write([]byte{5, 1, 0}); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, c, 2); got[1] != 0xff {
			t.Fatalf("method %#x after requiring authentication, want ff", got[1])
		}
		// Both connections above stay half-open on the server until it has
		// seen them end; they would count against the session limit below.
		c.Close()
		testkit.WaitFor(t, "the half-open connections to end", func() bool { return ts.stats.HalfOpen.Load() == 0 })

		// A session limit of one: the second connection is refused while the
		// first relays.
		limited := *conf
		limited.MaxSessions = 1
		if err := ts.Reconfigure(&limited, dial.New(dial.Options{TCPNoDelay: true})); err != nil {
			t.Fatal(err)
		}
		d, err := proxy.SOCKS5("tcp", ts.addr, nil, proxy.Direct)
		if err != nil {
			t.Fatal(err)
		}
		first, err := d.Dial("tcp", target)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		echoRoundTrip(t, first, "held")
		second := dialProxy(t, ts.addr)
		defer second.Close()
		expectClosed(t, second)
	})
}
