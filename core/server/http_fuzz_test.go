package server

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// scriptedConn is a net.Conn whose peer sends a fixed input, then EOF;
// what is written to it is kept. It stands for both the client and the
// upstream in FuzzHTTPProxy, so that every exchange ends deterministically.
type scriptedConn struct {
	mu     sync.Mutex
	in     *bytes.Reader
	out    bytes.Buffer
	closed bool
}

func newScripted(in []byte) *scriptedConn { return &scriptedConn{in: bytes.NewReader(in)} }

func (c *scriptedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	// Small reads exercise the incremental paths.
	return c.in.Read(p[:min(len(p), 13)])
}

func (c *scriptedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *scriptedConn) output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *scriptedConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

// scriptedDialer answers every dial with a scripted upstream, or fails.
type scriptedDialer struct {
	resp []byte
	fail bool
	mu   sync.Mutex
	ups  []*scriptedConn
}

func (d *scriptedDialer) Dial(ctx context.Context, target addr.Addr, hops route.Chain) (net.Conn, error) {
	if d.fail {
		return nil, &dial.Error{Kind: dial.Connect}
	}
	c := newScripted(d.resp)
	d.mu.Lock()
	d.ups = append(d.ups, c)
	d.mu.Unlock()
	return c, nil
}

// FuzzHTTPProxy runs arbitrary client bytes and upstream answers through
// the HTTP proxy handler: it must finish, send the client either nothing
// or HTTP/1.1 responses (or, for CONNECT, the tunnelled upstream bytes
// after the established line), and send the upstream only rebuilt
// requests.
func FuzzHTTPProxy(f *testing.F) {
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	f.Add([]byte("GET http://example.com/a?b HTTP/1.1\r\nHost: x\r\nConnection: x-a\r\nX-A: 1\r\n\r\n"), []byte(resp), uint8(0))
	f.Add([]byte("CONNECT example.com:443 HTTP/1.1\r\n\r\nhello"), []byte("welcome"), uint8(0))
	f.Add([]byte("POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("PUT http://h:8080/x HTTP/1.0\r\nContent-Length: 4\r\nProxy-Authorization: Basic dTpw\r\n\r\nbody"), []byte("HTTP/1.0 204 \r\n\r\n"), uint8(2))
	f.Add([]byte("GET http://h/ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nframe"), []byte("HTTP/1.1 101 Switching Protocols\r\n\r\nframe"), uint8(0))
	f.Add([]byte("HEAD http://h/ HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, in, upResp []byte, mode uint8) {
		conf := testConfig()
		conf.Listen = ""
		conf.HTTPListen = "127.0.0.1:0"
		conf.AuthRequired = mode%4 == 2
		d := &scriptedDialer{resp: upResp, fail: mode%4 == 3}
		var r route.Router
		if mode%4 != 0 {
			r = route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
				if mode%8 >= 4 {
					return route.Decision{Verdict: route.Reject}, nil
				}
				return route.Direct("192.0.2.1:80"), nil
			})
		}
		s, err := New(Options{Config: conf, Router: r, Dialer: d})
		if err != nil {
			t.Fatal(err)
		}
		client := newScripted(in)
		c := s.newConn(client)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serveConn(c, s.serveHTTP)
			// A tunnel outlives the handler; wait for its relay too.
			s.conndone.Wait()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not finish")
		}
		out := client.output()
		// An upgrade tunnel passes the upstream's bytes through untouched.
		upgrade := false
		if h, _, err := http.ParseRequest(in); err == nil {
			if p, err := h.Proxy(); err == nil {
				upgrade = p.Upgrading() && !p.Connect
			}
		}
		if len(out) > 0 && !upgrade && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("client got %q", out[:min(len(out), 60)])
		}
		d.mu.Lock()
		ups := d.ups
		d.mu.Unlock()
		for _, u := range ups {
			sent := u.output()
			if len(sent) == 0 || bytes.HasPrefix(in, []byte("CONNECT ")) {
				continue
			}
			// The first line upstream is an origin-form request line.
			line, _, ok := strings.Cut(string(sent), "\r\n")
			f := strings.SplitN(line, " ", 3)
			if !ok || len(f) != 3 || !strings.HasPrefix(f[1], "/") || !strings.HasPrefix(f[2], "HTTP/1.") {
				t.Fatalf("upstream got %q", sent[:min(len(sent), 80)])
			}
			head, _, _ := bytes.Cut(sent, []byte("\r\n\r\n"))
			if bytes.Contains(bytes.ToLower(head), []byte("\r\nproxy-authorization:")) {
				t.Fatalf("credentials forwarded: %q", head)
			}
		}
		if got := s.stats.HalfOpen.Load(); got != 0 {
			t.Fatalf("HalfOpen = %d", got)
		}
		if got := s.stats.Sessions.Load(); got != 0 {
			t.Fatalf("Sessions = %d", got)
		}
	})
}
