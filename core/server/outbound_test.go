package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
)

// countingDialer wraps a dialer and counts its dials, to tell which
// dialer served a connection.
type countingDialer struct {
	*dial.Dialer
	n chan struct{}
}

func (d countingDialer) Dial(ctx context.Context, t addr.Addr, chain []addr.Proxy) (net.Conn, error) {
	d.n <- struct{}{}
	return d.Dialer.Dial(ctx, t, chain)
}

func TestSetOutboundAppliesToNewConnections(t *testing.T) {
	first, second := echoServer(t), echoServer(t)
	conf := testConfig()
	conf.Forward = first
	ts := startServer(t, conf, nil, nil)

	c := dialProxy(t, ts.addr)
	echoRoundTrip(t, c, "one")
	c.Close()

	bad := *conf
	bad.Proxy = "socks6://nowhere:1"
	err := ts.SetOutbound(&bad, dial.New(dial.Options{TCPNoDelay: true}))
	if err == nil || !strings.Contains(err.Error(), "unable to parse outbound configuration") {
		t.Fatalf("bad -x accepted: %v", err)
	}

	next := *conf
	next.Forward = second
	d := countingDialer{Dialer: dial.New(dial.Options{TCPNoDelay: true}), n: make(chan struct{}, 4)}
	if err := ts.SetOutbound(&next, d); err != nil {
		t.Fatal(err)
	}
	c = dialProxy(t, ts.addr)
	defer c.Close()
	echoRoundTrip(t, c, "two")
	if len(d.n) != 1 {
		t.Fatalf("the new dialer served %d dials, want 1", len(d.n))
	}
	if got := ts.out.Load().forward.String(); got != second {
		t.Fatalf("forward target %s, want %s", got, second)
	}

	// A configuration without -f keeps the forward target: the mode stays.
	none := *conf
	none.Forward = ""
	if err := ts.SetOutbound(&none, d); err != nil {
		t.Fatal(err)
	}
	if got := ts.out.Load().forward.String(); got != second {
		t.Fatalf("forward target %s after a config without -f, want %s", got, second)
	}
}
