package script

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/api"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// startAPI serves e's REST API on loopback and returns the address.
func startAPI(t *testing.T, e *Engine) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{Ruleset: func() api.Ruleset { return e }, Timeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return ln.Addr().String()
}

func TestRPCBetweenInstances(t *testing.T) {
	a := loadTestRuleset(t, Options{}, "testdata/rpc.lua")
	b := loadTestRuleset(t, Options{}, "testdata/rpc.lua")
	peer := startAPI(t, b.Engine)
	a.invoke(t, fmt.Sprintf("_G.PEER = %q; _G.DEAD = %q", peer, testkit.ClosedPort(t).String()))

	if d := routeOf(t, a.Engine, route.Resolve, "rpc.test:1"); d.Verdict != route.Forward || d.Target != "127.0.0.1:4242" {
		t.Fatalf("rpc decision: %v %q %q", d.Verdict, d.Target, d.Reason)
	}
	if d := routeOf(t, a.Engine, route.Resolve, "rpcbig.test:1"); d.Verdict != route.Forward {
		t.Fatalf("big rpc: %v %q", d.Verdict, d.Reason)
	}
	if d := routeOf(t, a.Engine, route.Resolve, "rpcint.test:1"); d.Verdict != route.Forward || d.Target != "127.0.0.1:2" {
		t.Fatalf("64-bit integers over rpc: %v %q %q", d.Verdict, d.Target, d.Reason)
	}
	routeOf(t, a.Engine, route.Resolve, "rpcfail.test:1")
	routeOf(t, a.Engine, route.Resolve, "rpcdead.test:1")
	a.invoke(t, `assert(_G.rpc_error == "HTTP/1.1 500 Internal Server Error", tostring(_G.rpc_error))
assert(_G.dead_error == "connection failed", tostring(_G.dead_error))`)

	// neosocksd.invoke is fire-and-forget to /ruleset/invoke, compressed
	// when large
	a.invoke(t, `neosocksd.invoke("_G.got = " .. string.format("%q", string.rep("y", 300)), _G.PEER)`)
	deadline := time.Now().Add(5 * time.Second)
	for b.Invoke(context.Background(), []byte(`assert(_G.got == string.rep("y", 300))`)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("neosocksd.invoke never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Invoke(context.Background(), []byte(`neosocksd.invoke("x = 1")`)); err == nil || !strings.Contains(err.Error(), "invalid address") {
		t.Errorf("invoke without address: %v", err)
	}
}

func TestRPCallServer(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/rpc.lua")
	tests := []struct {
		name, code, want, err string
	}{
		{name: "echo", code: `return rpc["echo"]("ping",{1,2,3,})`, want: `return true,"ping",{1,2,3,}`},
		{name: "no values", code: `local x = 1`, want: `return true`},
		{name: "sandbox", code: `y = 5 return y, _G.y`, want: `return true,5,nil`},
		{name: "await inside", code: `await.sleep(0) return "slept"`, want: `return true,"slept"`},
		{name: "raises", code: `error("x")`, err: "rpcall did not return"},
		{name: "unmarshallable", code: `return print`, err: "rpcall did not return"},
		{name: "syntax", code: `return +`, err: "(rpc):1:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := te.RPCall(context.Background(), []byte(tc.code))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(body) != tc.want {
				t.Fatalf("got %q, %v; want %q", body, err, tc.want)
			}
		})
	}
}

// TestRPCWireFormat checks the client's request bytes and its reading of
// recorded responses against api.md §9.
func TestRPCWireFormat(t *testing.T) {
	code := `return rpc["echo"]("ping",{1,2,3,})`
	want := "POST /ruleset/rpcall HTTP/1.1\r\n" +
		"Accept-Encoding: deflate\r\n" +
		"Connection: close\r\n" +
		"Content-Length: 35\r\n" +
		"Content-Type: application/x-neosocksd-rpc; version=1\r\n" +
		"\r\n" + code
	if got := string(appendRPCRequest(nil, "/ruleset/rpcall", []byte(code), "")); got != want {
		t.Fatalf("request:\n%q\nwant\n%q", got, want)
	}
	big := appendRPCRequest(nil, "/ruleset/invoke", []byte(strings.Repeat("-- padding\n", 30)), "")
	if !strings.Contains(string(big), "Content-Encoding: deflate\r\n\r\nx") {
		t.Fatalf("large request not deflated:\n%q", big[:200])
	}

	const head = "HTTP/1.1 200 OK\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\nConnection: close\r\n"
	tests := []struct {
		name, resp string
		invoke     bool
		body, err  string
	}{
		{name: "ok", resp: head + "Content-Type: application/x-neosocksd-rpc; version=1\r\nContent-Length: 18\r\n\r\nreturn true,\"ping\"",
			body: `return true,"ping"`},
		{name: "mime case and spaces", resp: head + "Content-Type:  Application/X-Neosocksd-RPC ;version=1\r\nContent-Length: 11\r\n\r\nreturn true",
			body: "return true"},
		{name: "wrong version", resp: head + "Content-Type: application/x-neosocksd-rpc; version=2\r\nContent-Length: 11\r\n\r\nreturn true",
			err: "unsupported content-type"},
		{name: "text 200", resp: head + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi", err: "unsupported content-type"},
		{name: "500 text", resp: "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\nrpcall did not return",
			err: "HTTP/1.1 500 Internal Server Error"},
		{name: "500 rpc body", resp: "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-neosocksd-rpc; version=1\r\nContent-Length: 4\r\n\r\nnope",
			err: "nope"},
		{name: "chunked", resp: head + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", err: "chunked response not supported"},
		{name: "truncated", resp: head + "Content-Type: application/x-neosocksd-rpc; version=1\r\nContent-Length: 50\r\n\r\nreturn", err: "error receiving response"},
		{name: "garbage", resp: "SSH-2.0-OpenSSH\r\n\r\n", err: "error parsing response"},
		{name: "invoke empty 200", resp: head + "Content-Length: 0\r\n\r\n", invoke: true},
		{name: "bare LF", resp: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", err: "error parsing response"},
		{name: "no reason", resp: "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", err: "HTTP/1.1 503 "},
		{name: "head too large", resp: head + "X-Pad: " + strings.Repeat("a", maxResponseHead) + "\r\n\r\n", err: "error parsing response"},
		{name: "header without colon", resp: head + "garbage\r\n\r\n", err: "error parsing response"},
		{name: "content-length twice", resp: head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", err: "error parsing response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := readResponse(bufio.NewReader(strings.NewReader(tc.resp)), tc.invoke)
			if res.err != tc.err || string(res.body) != tc.body {
				t.Fatalf("got body %q err %q; want body %q err %q", res.body, res.err, tc.body, tc.err)
			}
		})
	}
}

// TestRPCWithToken checks that the API client sends Options.APIToken to
// a peer whose API requires one, and that a client without it is refused.
func TestRPCWithToken(t *testing.T) {
	const token = "peer-token-42"
	b := loadTestRuleset(t, Options{}, "testdata/rpc.lua")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{Ruleset: func() api.Ruleset { return b.Engine }, Timeout: 10 * time.Second, Token: token}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	peer := ln.Addr().String()

	withToken := loadTestRuleset(t, Options{APIToken: token}, "testdata/rpc.lua")
	withToken.invoke(t, fmt.Sprintf("_G.PEER = %q", peer))
	if d := routeOf(t, withToken.Engine, route.Resolve, "rpc.test:1"); d.Verdict != route.Forward || d.Target != "127.0.0.1:4242" {
		t.Fatalf("await.invoke with the token: %v %q %q", d.Verdict, d.Target, d.Reason)
	}
	withToken.invoke(t, `neosocksd.invoke("_G.pushed = true", _G.PEER)`)
	deadline := time.Now().Add(5 * time.Second)
	for b.Invoke(context.Background(), []byte(`assert(_G.pushed == true)`)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("neosocksd.invoke with the token never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}

	without := loadTestRuleset(t, Options{}, "testdata/rpc.lua")
	without.invoke(t, fmt.Sprintf("_G.PEER = %q", peer))
	routeOf(t, without.Engine, route.Resolve, "rpcfail.test:1")
	without.invoke(t, `assert(_G.rpc_error == "HTTP/1.1 401 Unauthorized", tostring(_G.rpc_error))`)

	req := string(appendRPCRequest(nil, "/ruleset/rpcall", []byte("return 1"), token))
	if !strings.Contains(req, "\r\nAuthorization: Bearer "+token+"\r\n") {
		t.Fatalf("request without the token:\n%q", req)
	}
}
