package script

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/server"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestProxyCountersLeaveOutRejectsAndRPC wires the engine, a proxy and the
// RPC client to one set of counters and one dialer, as the daemon does,
// and checks that the relay and latency counters see only what was
// proxied: neither the pipelined bytes of a request the ruleset rejected,
// nor the RPC client's connection.
func TestProxyCountersLeaveOutRejectsAndRPC(t *testing.T) {
	st := new(stats.Counters)
	d := dial.New(dial.Options{Stats: st})
	te := loadTestRuleset(t, Options{
		Stats: st,
		Dial:  d.DialString,
	}, "testdata/e2e.lua")
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.Timeout = 10
	srv := serveForTest(t, server.Options{Config: &c, Router: te.Engine, Dialer: d, Stats: st})
	proxyAddr, _ := srv.Addrs()
	te.invoke(t, fmt.Sprintf("_G.ECHO = %q", testkit.EchoServer(t)))
	api := rpcServer(t, "return true,42")

	// socks4a sends a SOCKS4A request for host:80 with payload pipelined
	// behind it (handshake bytes, protocols §2.1) or, once granted, relayed
	socks4a := func(host, payload string, pipelined bool) []byte {
		b := []byte{4, 1, 0, 80, 0, 0, 0, 1, 0}
		b = append(append(b, host...), 0)
		c, err := net.DialTimeout("tcp", proxyAddr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if pipelined {
			b = append(b, payload...)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		reply := make([]byte, 8)
		if _, err := io.ReadFull(c, reply); err != nil {
			t.Fatal(err)
		}
		if reply[1] == 0x5a {
			if !pipelined {
				if _, err := io.WriteString(c, payload); err != nil {
					t.Fatal(err)
				}
			}
			back := make([]byte, len(payload))
			if _, err := io.ReadFull(c, back); err != nil || string(back) != payload {
				t.Fatalf("echo %q: %v", back, err)
			}
		}
		return reply
	}
	type view struct {
		up, down, success, latency, apiReqs uint64
		apiBytes                            bool
	}
	now := func() view {
		return view{
			up: st.BytesUp.Load(), down: st.BytesDown.Load(), success: st.Success.Load(),
			latency: uint64(st.ConnectLatency.Percentiles().N), apiReqs: st.APIClientRequest.Load(),
			apiBytes: st.APIClientRx.Load() > 0 && st.APIClientTx.Load() > 0,
		}
	}

	if r := socks4a("reject.test", "rejected payload", true); r[1] != 0x5b {
		t.Fatalf("reject.test reply % x", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := te.RPCall(ctx, []byte(fmt.Sprintf(`local ok, f = await.invoke("return 1", %q) return ok, f()`, api)))
	if err != nil || string(body) != "return true,true,true,42" {
		t.Fatalf("rpcall: %s %v", body, err)
	}
	if got, want := now(), (view{apiReqs: 1, apiBytes: true}); got != want {
		t.Fatalf("after a rejected request and an RPC call: %+v, want %+v", got, want)
	}
	socks4a("echo.test", "granted", false)
	// the relay counts a burst after writing it: wait for the session to end
	for deadline := time.Now().Add(5 * time.Second); st.Sessions.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session did not end")
		}
	}
	if got, want := now(), (view{up: 7, down: 7, success: 1, latency: 1, apiReqs: 1, apiBytes: true}); got != want {
		t.Fatalf("after a granted request: %+v, want %+v", got, want)
	}
}

// rpcServer answers every request on a loopback port with an RPC body.
func rpcServer(t *testing.T, body string) string {
	t.Helper()
	return testkit.Serve(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/x-neosocksd-rpc; version=1\r\n"+
			fmt.Sprintf("Content-Length: %d\r\nConnection: close\r\n\r\n", len(body))+body)
	})
}

// serveForTest starts a server with opts on its listeners and shuts it
// down when the test ends.
func serveForTest(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	})
	return srv
}
