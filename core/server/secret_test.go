package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestCredentialsNotKeptInPools: on the goroutine path, the pooled
// buffers an authenticated HTTP CONNECT and a SOCKS5 session with a
// password were read into are cleared before they go back to their pools,
// from which other clients' requests borrow them. The pools are replaced
// for the test by ones that remember every buffer they make.
func TestCredentialsNotKeptInPools(t *testing.T) {
	withLoop(t, false)
	var mu sync.Mutex
	var heads []*inbuf
	var hss []*hsBuf
	wasIn, wasHS := inbufPool.New, hsPool.New
	t.Cleanup(func() { inbufPool, hsPool = sync.Pool{New: wasIn}, sync.Pool{New: wasHS} })
	inbufPool, hsPool = sync.Pool{New: func() any {
		b := &inbuf{buf: make([]byte, 0, inbufSize)}
		mu.Lock()
		heads = append(heads, b)
		mu.Unlock()
		return b
	}}, sync.Pool{New: func() any {
		b := new(hsBuf)
		mu.Lock()
		hss = append(hss, b)
		mu.Unlock()
		return b
	}}

	_, _, basic, pass := credentialSessions(t)

	mu.Lock()
	defer mu.Unlock()
	if len(heads) == 0 || len(hss) == 0 {
		t.Fatalf("%d HTTP and %d SOCKS buffers lent: the sessions did not take the goroutine path", len(heads), len(hss))
	}
	for _, b := range heads {
		if bytes.Contains(b.buf[:cap(b.buf)], []byte(basic)) {
			t.Error("a pooled HTTP buffer holds the credentials")
		}
	}
	for _, b := range hss {
		if bytes.Contains(b.in[:], []byte(pass)) {
			t.Error("a pooled SOCKS handshake buffer holds the password")
		}
	}
}

// credentialSessions starts a server that requires credentials and
// accepts any, and runs two sessions through it at once: an HTTP CONNECT
// with curl's head and Proxy-Authorization, and a SOCKS5 session with a
// password (at once, so that on the loop the second does not take the
// first's tunnel record). Each echoes a few bytes; then both are closed
// and the server is shut down, by when it has released every buffer and
// record they used. It returns the server, the echo target, the
// credentials as Basic sends them, and the password, for the caller to look for in what the server
// kept.
func credentialSessions(t *testing.T) (ts *testServer, echo, basic, pass string) {
	t.Helper()
	echo = echoServer(t)
	conf := testConfig()
	conf.HTTPListen = "127.0.0.1:0"
	conf.AuthRequired = true // no router: any credentials are accepted
	ts = startServer(t, conf, nil, nil)
	_, hp := ts.Addrs()
	const user = "alice"
	pass = "pw-for-this-tunnel-only"
	basic = base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))

	roundTrip := func(c net.Conn, reply int) {
		t.Helper()
		b := make([]byte, reply)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, c, []byte("ping"))
		if _, err := io.ReadFull(c, b[:4]); err != nil || string(b[:4]) != "ping" {
			t.Fatalf("echo: %q %v", b[:4], err)
		}
	}
	hc := dialProxy(t, hp.String())
	mustWrite(t, hc, curlConnect(echo, basic))
	roundTrip(hc, len(http.ConnectEstablished))
	sc := dialProxy(t, ts.addr)
	mustWrite(t, sc, append(append(s5greetAuth(), s5authMsg(user, pass)...), connectReq(t, echo)...))
	roundTrip(sc, 2+2+10)
	hc.Close()
	sc.Close()
	testkit.WaitFor(t, "the sessions to end", func() bool {
		return ts.stats.Sessions.Load() == 0 && ts.stats.HalfOpen.Load() == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return ts, echo, basic, pass
}

// s5greetAuth is a SOCKS5 greeting offering username/password only.
func s5greetAuth() []byte { return []byte{5, 1, 2} }

// s5authMsg is a SOCKS5 username/password sub-negotiation.
func s5authMsg(user, pass string) []byte {
	b := append([]byte{1, byte(len(user))}, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}
