package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// echoOnlyDialer is a dialer the loop connects with (it has the
// loopDialer methods) that sends every target to one echo server, so that
// fuzzed requests reach no other port: names are not looked up, an
// address is checked by the real block policy and then replaced.
type echoOnlyDialer struct {
	*dial.Dialer
	echo netip.AddrPort
}

func (d echoOnlyDialer) DialTarget(ctx context.Context, first addr.Addr) (netip.AddrPort, error) {
	if first.Kind() == addr.Domain {
		if first.Name() == "unresolvable.invalid" {
			return netip.AddrPort{}, &dial.Error{Kind: dial.Resolve, Err: errors.New("no such name")}
		}
		return d.echo, nil
	}
	if _, err := d.Dialer.DialTarget(ctx, first); err != nil {
		return netip.AddrPort{}, err
	}
	return d.echo, nil
}

// DialTargetNow leaves every name to DialTarget (on a worker), which
// sends it to the echo server.
func (d echoOnlyDialer) DialTargetNow(first addr.Addr) (netip.AddrPort, bool, error) {
	if first.Kind() == addr.Domain {
		return netip.AddrPort{}, false, nil
	}
	ap, err := d.DialTarget(context.Background(), first)
	return ap, true, err
}

func (d echoOnlyDialer) Dial(ctx context.Context, _ addr.Addr, hops route.Chain) (net.Conn, error) {
	return d.Dialer.Dial(ctx, addr.FromAddrPort(d.echo), hops)
}

// FuzzLoopHandshake feeds arbitrary client bytes to the event loop over
// real loopback connections, on the SOCKS listener and on --http: every
// connection must end (an answer and a close, or a close) once the
// client has sent everything and half-closed, and nothing may stay
// counted as half-open.
func FuzzLoopHandshake(f *testing.F) {
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x0bexample.org\x00\x50hello"), uint8(0))
	f.Add([]byte("\x05\x02\x02\x00\x01\x01u\x01p\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"), uint8(1))
	f.Add([]byte("\x05\x01\x02\x01\x00\x00"), uint8(1))
	f.Add([]byte("\x04\x01\x00\x50\x00\x00\x00\x01user\x00host\x00data"), uint8(0))
	f.Add([]byte("\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"), uint8(0))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x14unresolvable.invalid\x00\x50"), uint8(0))
	f.Add([]byte("\x04\x01\x00\x50\x0a\x00\x00\x01\x00"), uint8(0))
	f.Add([]byte("CONNECT example.org:80 HTTP/1.1\r\n\r\nhi"), uint8(2))
	f.Add([]byte("GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n"), uint8(2))
	f.Add([]byte("CONNECT x:1 HTTP/1.1\r\n\r\n"), uint8(3))
	withLoop(f, true)
	echo := echoServer(f)
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	conf.Timeout = 2
	conf.BlockLocal, conf.BlockGlobal = true, true
	secure := *conf
	secure.AuthRequired = true
	servers := [2]*testServer{}
	for i, c := range []*configRef{{conf}, {&secure}} {
		opts, err := dial.OptionsFrom(c.c)
		if err != nil {
			f.Fatal(err)
		}
		d := echoOnlyDialer{dial.New(opts), netip.MustParseAddrPort(echo)}
		servers[i] = startServer(f, c.c, nil, d)
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		ts := servers[mode&1]
		a := ts.addr
		if mode&2 != 0 {
			_, hp := ts.Addrs()
			a = hp.String()
		}
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(in); err != nil && !isReset(err) {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Fatalf("the connection did not end: %v", err)
		}
	})
	for _, ts := range servers {
		waitIdle(f, ts)
	}
}

type configRef struct{ c *config.Config }

// waitIdle waits until no connection of ts is half-open or relaying.
func waitIdle(t testing.TB, ts *testServer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ts.stats.HalfOpen.Load() != 0 || ts.stats.Sessions.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("HalfOpen %d, Sessions %d after the fuzzed connections ended", ts.stats.HalfOpen.Load(), ts.stats.Sessions.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
