package http

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	long := "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHeadSize) + "\r\n\r\n"
	tests := []struct {
		name   string
		in     string
		err    error // nil: complete head
		method string
		target string
		ver    string
		hdrs   int
	}{
		{name: "minimal", in: "GET /stats HTTP/1.1\r\n\r\n", method: "GET", target: "/stats", ver: "HTTP/1.1"},
		{name: "http10", in: "GET / HTTP/1.0\r\nA: b\r\n\r\n", method: "GET", target: "/", ver: "HTTP/1.0", hdrs: 1},
		{name: "version rest of line", in: "GET / HTTP/1.1 x\r\n\r\n", method: "GET", target: "/", ver: "HTTP/1.1 x"},
		{name: "connect", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", method: "CONNECT", target: "example.com:443", ver: "HTTP/1.1", hdrs: 1},
		{name: "ows trimmed", in: "GET / HTTP/1.1\r\nA: \t b c \t\r\n\r\n", method: "GET", target: "/", ver: "HTTP/1.1", hdrs: 1},
		{name: "short line", in: "GET / HTTP/1.1", err: ErrShort},
		{name: "short cr", in: "GET / HTTP/1.1\r", err: ErrShort},
		{name: "short headers", in: "GET / HTTP/1.1\r\nA: b\r\n", err: ErrShort},
		{name: "empty", in: "", err: ErrShort},
		{name: "one space", in: "GET /\r\n\r\n", err: ErrMalformed},
		{name: "no space", in: "GET\r\n\r\n", err: ErrMalformed},
		{name: "http2", in: "GET / HTTP/2.0\r\n\r\n", err: ErrMalformed},
		{name: "http1", in: "GET / HTTP/1\r\n\r\n", err: ErrMalformed},
		{name: "http09", in: "GET / HTTP/0.9\r\n\r\n", err: ErrMalformed},
		{name: "lowercase version", in: "GET / http/1.1\r\n\r\n", err: ErrMalformed},
		{name: "ctl in line", in: "GET /\x01 HTTP/1.1\r\n\r\n", err: ErrMalformed},
		{name: "tab is not a separator", in: "GET\t/ HTTP/1.1\r\n\r\n", err: ErrMalformed},
		{name: "tab in target", in: "GET /a\tb HTTP/1.1\r\n\r\n", method: "GET", target: "/a\tb", ver: "HTTP/1.1"},
		{name: "empty method", in: " / HTTP/1.1\r\n\r\n", err: ErrMalformed},
		{name: "bare lf", in: "GET / HTTP/1.1\n\n", err: ErrMalformed},
		{name: "bare lf header", in: "GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", err: ErrMalformed},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nA : b\r\n\r\n", err: ErrMalformed},
		{name: "empty name", in: "GET / HTTP/1.1\r\n: b\r\n\r\n", err: ErrMalformed},
		{name: "no colon", in: "GET / HTTP/1.1\r\nAb\r\n\r\n", err: ErrMalformed},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", err: ErrMalformed},
		{name: "obs-fold partial", in: "GET / HTTP/1.1\r\nA: b\r\n\t", err: ErrMalformed},
		{name: "ctl in value", in: "GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n", err: ErrMalformed},
		{name: "del in value", in: "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", err: ErrMalformed},
		{name: "too large", in: long, err: ErrTooLarge},
		{name: "too large partial", in: long[:MaxHeadSize+1], err: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseRequest([]byte(tc.in + "TRAILING"))
			if tc.err == ErrShort {
				h, n, err = ParseRequest([]byte(tc.in))
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.in) || h.Method != tc.method || h.Target != tc.target || h.Version != tc.ver || len(h.Header) != tc.hdrs {
				t.Fatalf("got %d %+v", n, h)
			}
		})
	}
}

func TestParseRequestSizeBoundary(t *testing.T) {
	base := "GET / HTTP/1.1\r\nX: \r\n\r\n"
	fit := strings.Replace(base, "X: ", "X: "+strings.Repeat("a", MaxHeadSize-len(base)), 1)
	if len(fit) != MaxHeadSize {
		t.Fatal(len(fit))
	}
	if _, n, err := ParseRequest([]byte(fit)); err != nil || n != MaxHeadSize {
		t.Fatalf("fit: %d %v", n, err)
	}
	over := strings.Replace(fit, "X: ", "X: a", 1)
	if _, _, err := ParseRequest([]byte(over)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over: %v", err)
	}
	if Status(errors.Join(ErrTooLarge)) != 413 || Status(ErrMalformed) != 400 {
		t.Fatal("Status")
	}
}

func TestIncremental(t *testing.T) {
	in := []byte("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\nbody")
	for i := 0; i < len(in)-4; i++ {
		_, _, err := ParseRequest(in[:i])
		if err != ErrShort {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	if _, n, err := ParseRequest(in); err != nil || n != len(in)-4 {
		t.Fatal(n, err)
	}
}

func mustProxy(t *testing.T, s string) (ProxyRequest, error) {
	t.Helper()
	h, _, err := ParseRequest([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return h.Proxy()
}

// TestProxyConnectAllocations: classifying a CONNECT head whose string and
// headers' array the caller provides (as an event loop does) allocates
// nothing, with the hop-by-hop headers browsers and curl send.
func TestProxyConnectAllocations(t *testing.T) {
	for _, head := range []string{
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nUser-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nConnection: close\r\nUpgrade: websocket\r\nKeep-Alive: 5\r\nTE: trailers\r\n\r\n",
	} {
		b := []byte(head)
		str := func([]byte) string { return head }
		hs := make([]Header, 0, 16)
		n := testing.AllocsPerRun(100, func() {
			h, _, err := ParseRequestWith(b, str, hs)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := h.Proxy(); err != nil || !p.Connect {
				t.Fatal(p, err)
			}
		})
		if n != 0 {
			t.Errorf("%q: %v allocations", head, n)
		}
	}
}

func TestMayHaveField(t *testing.T) {
	const name = "Proxy-Authorization"
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"CONNECT a:1 HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic eDp5\r\n\r\n", true},
		{"CONNECT a:1 HTTP/1.1\r\nproxy-authorization:Basic eDp5\r\n\r\n", true},
		{"CONNECT a:1 HTTP/1.1\r\nPROXY-AUTHORIZATION: x", true},            // incomplete heads too
		{"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization-X: y\r\n\r\n", false}, // another name
		{"CONNECT a:1 HTTP/1.1\r\nX: Proxy-Authorization: y\r\n\r\n", false},
		{"Proxy-Authorization: y\r\n\r\n", false}, // the first line is no header
		{"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization\r\n", false},
		{"CONNECT a:1 HTTP/1.1\r\nProxy-Authorizatio", false},
		{"", false},
	} {
		if got := MayHaveField([]byte(tc.in), name); got != tc.want {
			t.Errorf("MayHaveField(%q) = %v", tc.in, got)
		}
	}
}

func TestProxyClassify(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
		chk  func(t *testing.T, p *ProxyRequest)
	}{
		{name: "connect ignores host and length", in: "CONNECT a:1 HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: x\r\nX: y\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if !p.Connect || p.ContentLength != -1 || len(p.Forward) != 0 {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "lowercase connect is not connect", in: "connect a:1 HTTP/1.1\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if p.Connect {
					t.Fatal("connect")
				}
			}},
		{name: "duplicate host", in: "GET http://a/ HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", err: ErrMalformed},
		{name: "auth without space", in: "GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic\r\n\r\n", err: ErrMalformed},
		{name: "connect auth without space", in: "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n", err: ErrMalformed},
		{name: "te gzip", in: "GET http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrMalformed},
		{name: "te chunked gzip", in: "CONNECT a:1 HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: ErrMalformed},
		{name: "te empty", in: "GET http://a/ HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if p.Chunked {
					t.Fatal("chunked")
				}
			}},
		{name: "chunked and length", in: "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length: 3\r\n\r\n", err: ErrMalformed},
		{name: "length and chunked", in: "POST http://a/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked \r\n\r\n", err: ErrMalformed},
		{name: "dup length", in: "POST http://a/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", err: ErrMalformed},
		{name: "negative length", in: "POST http://a/ HTTP/1.1\r\nContent-Length: -3\r\n\r\n", err: ErrMalformed},
		{name: "huge length", in: "POST http://a/ HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", err: ErrMalformed},
		{name: "headers limit", in: "GET http://a/ HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", MaxHeaders+1) + "\r\n", err: ErrTooLarge},
		{name: "headers at limit", in: "GET http://a/ HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", MaxHeaders) + "Host: a\r\nTE: x\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if len(p.Forward) != MaxHeaders {
					t.Fatal(len(p.Forward))
				}
			}},
		{name: "hop by hop", in: "GET http://a/ HTTP/1.1\r\nConnection: X-Drop, upgrade\r\nX-drop: 1\r\nKeep-Alive: 1\r\nTE: t\r\nTrailer: x\r\nProxy-Connection: close\r\nUpgrade: websocket\r\nVia: 1.0 other\r\nProxy-Authorization: Basic eDp5\r\nAccept: */*\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				want := []Header{{"Via", "1.0 other"}, {"Accept", "*/*"}}
				if len(p.Forward) != 2 || p.Forward[0] != want[0] || p.Forward[1] != want[1] {
					t.Fatalf("%+v", p.Forward)
				}
				if !p.Upgrading() || p.Upgrade != "websocket" || !p.HasAuth || p.Auth != "Basic eDp5" {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "proxy-connection as connection", in: "GET http://a/ HTTP/1.1\r\nProxy-Connection: X-A\r\nX-A: 1\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if len(p.Forward) != 0 || len(p.Connection) != 1 {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "upgrade with body ignored", in: "POST http://a/ HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: ws\r\nContent-Length: 0\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if p.Upgrading() {
					t.Fatal("upgrading with body")
				}
			}},
		{name: "connect as curl sends it", in: "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nUser-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if !p.Connect || p.Connection != nil || len(p.Forward) != 0 || p.Upgrading() || !p.lists("keep-alive") {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "connect with upgrade", in: "CONNECT a:443 HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if !p.Upgrading() || p.Connection != nil {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "connection over proxy-connection", in: "GET http://a/ HTTP/1.1\r\nProxy-Connection: X-A, upgrade\r\nUpgrade: ws\r\nconnection: X-B\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if !slices.Equal(p.Connection, []string{"X-B"}) || len(p.Forward) != 1 || p.Forward[0] != (Header{"X-A", "1"}) || p.Upgrading() {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "empty connection hides proxy-connection", in: "GET http://a/ HTTP/1.1\r\nProxy-Connection: upgrade\r\nUpgrade: ws\r\nConnection: , \r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if p.Connection != nil || p.Upgrading() {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "connection tokens over several headers", in: "GET http://a/ HTTP/1.1\r\nConnection: ,x-a\r\nUpgrade: ws\r\nCONNECTION: \tUpgrade ,, X-b\r\nX-A: 1\r\nx-B: 2\r\nX-C: 3\r\n\r\n",
			chk: func(t *testing.T, p *ProxyRequest) {
				if !slices.Equal(p.Connection, []string{"x-a", "Upgrade", "X-b"}) || len(p.Forward) != 1 || p.Forward[0].Name != "X-C" || !p.Upgrading() {
					t.Fatalf("%+v", p)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mustProxy(t, tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.chk(t, &p)
		})
	}
}

func TestParseAbsoluteURI(t *testing.T) {
	tests := []struct {
		in, host, addr, path string
		bad                  bool
	}{
		{in: "http://example.com/a/b?c=d#frag", host: "example.com", addr: "example.com:80", path: "/a/b?c=d"},
		{in: "HTTP://Example.com:8080", host: "Example.com:8080", addr: "Example.com:8080", path: "/"},
		{in: "http://u:p@h:81?x", host: "h:81", addr: "h:81", path: "/?x"},
		{in: "http://[::1]/x%20y", host: "[::1]", addr: "[::1]:80", path: "/x%20y"},
		{in: "http://[::1]:8080/", host: "[::1]:8080", addr: "[::1]:8080", path: "/"},
		{in: "http://ex%61mple.com/", host: "ex%61mple.com", addr: "example.com:80", path: "/"},
		{in: "http://h:/", host: "h:", addr: "h:80", path: "/"},
		{in: "http://h#x", host: "h", addr: "h:80", path: "/"},
		{in: "/path", bad: true},
		{in: "https://h/", bad: true},
		{in: "*", bad: true},
		{in: "http:///x", bad: true},
		{in: "http://u@/x", bad: true},
		{in: "http://h%00/", bad: true},
		{in: "http://h%zz/", bad: true},
		{in: "http://h%4/", bad: true},
		{in: "http://h:99999/", bad: true},
		{in: "http://h:8x/", bad: true},
		{in: "http://[::1/", bad: true},
		{in: "http://[::1]x/", bad: true},
		{in: "http://[]/", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := ParseAbsoluteURI(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %+v, %v", u, err)
				}
				return
			}
			if err != nil || u.HostPort != tc.host || u.Addr != tc.addr || u.Path != tc.path {
				t.Fatalf("got %+v, %v", u, err)
			}
		})
	}
}

func TestAppendForwardRequest(t *testing.T) {
	p, err := mustProxy(t, "POST http://u@h:81/p?q HTTP/1.1\r\nHost: other\r\nVia: 1.0 x\r\nX-A: 1\r\nContent-Length: 5\r\nProxy-Authorization: Basic eDp5\r\nConnection: keep-alive\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseAbsoluteURI(p.Target)
	if err != nil {
		t.Fatal(err)
	}
	got := string(AppendForwardRequest(nil, &p, u))
	want := "POST /p?q HTTP/1.1\r\nHost: h:81\r\nVia: 1.0 x\r\nX-A: 1\r\nVia: 1.1 neosocksd\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	p, _ = mustProxy(t, "GET http://h/ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: \r\n\r\n")
	u, _ = ParseAbsoluteURI(p.Target)
	got = string(AppendForwardRequest(nil, &p, u))
	want = "GET /ws HTTP/1.0\r\nHost: h\r\nVia: 1.0 neosocksd\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	p, _ = mustProxy(t, "PUT http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
	u, _ = ParseAbsoluteURI(p.Target)
	got = string(AppendForwardRequest(nil, &p, u))
	want = "PUT / HTTP/1.1\r\nHost: h\r\nVia: 1.1 neosocksd\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
		code int
		cl   int64
		ch   bool
		out  string // AppendResponseHead
	}{
		{name: "ok", in: "HTTP/1.1 200 Fine\r\nContent-Length: 3\r\nX-A: 1\r\nConnection: X-B, keep-alive\r\nX-B: 2\r\nKeep-Alive: t=1\r\n\r\n",
			code: 200, cl: 3, out: "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"},
		{name: "no reason", in: "HTTP/1.0 299\r\n\r\n", code: 299, cl: -1, out: "HTTP/1.1 299 \r\nConnection: close\r\n\r\n"},
		{name: "chunked", in: "HTTP/1.1 404 Nope\r\nTransfer-Encoding: chunked\r\nUpgrade: x\r\nTE: y\r\nTrailer: z\r\nProxy-Connection: a\r\n\r\n",
			code: 404, cl: -1, ch: true, out: "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"},
		{name: "interim", in: "HTTP/1.1 100 Go on\r\nX: y\r\n\r\n", code: 100, cl: -1, out: "HTTP/1.1 100 Continue\r\nX: y\r\n\r\n"},
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", code: 101, cl: -1, out: "HTTP/1.1 101 \r\n\r\n"},
		{name: "code 000", in: "HTTP/1.0 000\r\n\r\n", code: 0, cl: -1, out: "HTTP/1.1 000 \r\nConnection: close\r\n\r\n"},
		{name: "interim framing ignored", in: "HTTP/1.0 100 \r\nTransfer-Encoding: chunked\r\n\r\n", code: 100, cl: -1, out: "HTTP/1.1 100 Continue\r\n\r\n"},
		{name: "short", in: "HTTP/1.1 200 OK\r\n", err: ErrShort},
		{name: "bad version", in: "HTTP/2.0 200 OK\r\n\r\n", err: ErrMalformed},
		{name: "icy", in: "ICY 200 OK\r\n\r\n", err: ErrMalformed},
		{name: "two digit", in: "HTTP/1.1 20 OK\r\n\r\n", err: ErrMalformed},
		{name: "four digit", in: "HTTP/1.1 2000 OK\r\n\r\n", err: ErrMalformed},
		{name: "alpha code", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: ErrMalformed},
		{name: "ctl", in: "HTTP/1.1 200 O\x01K\r\n\r\n", err: ErrMalformed},
		{name: "te gzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrMalformed},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", err: ErrMalformed},
		{name: "conflicting length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: ErrMalformed},
		{name: "too many", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("A: b\r\n", MaxHeaders+1) + "\r\n", err: ErrTooLarge},
		{name: "too big", in: "HTTP/1.1 200 OK\r\nA: " + strings.Repeat("b", MaxResponseHeadSize) + "\r\n\r\n", err: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, n, err := ParseResponse([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || n != len(tc.in) || r.Code != tc.code || r.ContentLength != tc.cl || r.Chunked != tc.ch {
				t.Fatalf("%d %+v %v", n, r, err)
			}
			if got := string(AppendResponseHead(nil, &r)); got != tc.out {
				t.Fatalf("got %q want %q", got, tc.out)
			}
		})
	}
	r := ResponseHead{Code: 304}
	if !r.Bodiless("GET") || (&ResponseHead{Code: 200}).Bodiless("GET") || !(&ResponseHead{Code: 200}).Bodiless("HEAD") {
		t.Fatal("Bodiless")
	}
}

func TestErrorPage(t *testing.T) {
	now := time.Date(1994, 11, 6, 8, 49, 37, 0, time.FixedZone("x", 3600))
	got := string(AppendErrorPage(nil, 403, now))
	want := "HTTP/1.1 403 Forbidden\r\nDate: Sun, 06 Nov 1994 07:49:37 GMT\r\nConnection: close\r\nContent-type: text/html\r\n\r\n" +
		"<HTML><HEAD><TITLE>403 Forbidden</TITLE></HEAD>\n<BODY><H1>403 Forbidden</H1>\n"
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\n</BODY></HTML>\n") {
		t.Fatalf("%q", got)
	}
	got = string(AppendAuthRequired(nil, now))
	want = "HTTP/1.1 407 Proxy Authentication Required\r\nDate: Sun, 06 Nov 1994 07:49:37 GMT\r\nConnection: close\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\n\r\n"
	if got != want {
		t.Fatalf("%q", got)
	}
	for code, r := range map[int]string{413: "Content Too Large", 101: "", 299: "", 502: "Bad Gateway", 100: "Continue"} {
		if Reason(code) != r {
			t.Errorf("Reason(%d) = %q", code, Reason(code))
		}
	}
}

func TestBasic(t *testing.T) {
	tests := []struct {
		in, user, pass string
		ok             bool
	}{
		{in: "Basic dXNlcjpwYXNz", user: "user", pass: "pass", ok: true},
		{in: "Basic OmE6Yg==", user: "", pass: "a:b", ok: true},
		{in: "basic dXNlcjpwYXNz"},
		{in: "Bearer xyz"},
		{in: "Basic dXNlcg=="},
		{in: "Basic !!!"},
		{in: "Basic " + string(AppendBasic(nil, strings.Repeat("u", 600), "p"))[6:]},
	}
	for _, tc := range tests {
		u, p, ok := ParseBasic(tc.in)
		if u != tc.user || p != tc.pass || ok != tc.ok {
			t.Errorf("%q: %q %q %v", tc.in, u, p, ok)
		}
	}
	u, p, ok := ParseBasic(string(AppendBasic(nil, "a b", "c:d")))
	if !ok || u != "a b" || p != "c:d" {
		t.Fatal(u, p, ok)
	}
	// The user and the password are their own strings, and nothing else
	// is allocated.
	value := string(AppendBasic(nil, "alice", strings.Repeat("p", MaxBasicLen-len("alice:"))))
	if n := testing.AllocsPerRun(100, func() {
		if _, _, ok := ParseBasic(value); !ok {
			t.Fatal("not parsed")
		}
	}); n != 2 {
		t.Errorf("%v allocations, want 2", n)
	}
}

func decodeAll(t testing.TB, in []byte) ([]byte, int, error) {
	var d ChunkedDecoder
	var out []byte
	n := 0
	for i := 0; i < len(in)+2 && !d.Done(); i++ {
		p, k, err := d.Decode(in[n:])
		out = append(out, p...)
		n += k
		if err != nil {
			return out, n, err
		}
		if n == len(in) && !d.Done() {
			return out, n, ErrShort
		}
	}
	return out, n, nil
}

func TestChunked(t *testing.T) {
	tests := []struct {
		name, in, out string
		err           error
	}{
		{name: "simple", in: "3\r\nabc\r\n0\r\n\r\n", out: "abc"},
		{name: "hex ext ws", in: "A ;x=y\r\n0123456789\r\n1;q\r\nZ\r\n0\r\nT: v\r\nU: w\r\n\r\n", out: "0123456789Z"},
		{name: "upper hex", in: "0000F\r\n0123456789abcde\r\n00\r\n\r\n", out: "0123456789abcde"},
		{name: "short", in: "3\r\nab", out: "ab", err: ErrShort},
		{name: "no digits", in: "\r\n", err: ErrMalformed},
		{name: "bad digit", in: "g\r\n", err: ErrMalformed},
		{name: "missing crlf", in: "3\r\nabcd\r\n", out: "abc", err: ErrMalformed},
		{name: "bare lf", in: "3\nabc\r\n", err: ErrMalformed},
		{name: "overflow", in: "fffffffffffffffff\r\n", err: ErrMalformed},
		{name: "ctl ext", in: "3;\x01\r\n", err: ErrMalformed},
		{name: "bad trailer", in: "0\r\nA\x00\r\n\r\n", err: ErrMalformed},
		{name: "bad end", in: "0\r\n\rX", err: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, n, err := decodeAll(t, []byte(tc.in+"NEXT"))
			if tc.err == ErrShort {
				out, n, err = decodeAll(t, []byte(tc.in))
			}
			if !errors.Is(err, tc.err) && err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if string(out) != tc.out {
				t.Fatalf("out = %q", out)
			}
			if tc.err == nil && n != len(tc.in) {
				t.Fatalf("consumed %d of %d", n, len(tc.in))
			}
		})
	}
	// Byte-at-a-time feeding gives the same result.
	in := []byte("5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX: y\r\n\r\n")
	var d ChunkedDecoder
	var out []byte
	for i := 0; i < len(in); i++ {
		p, k, err := d.Decode(in[i : i+1])
		if err != nil || k != 1 {
			t.Fatal(i, k, err)
		}
		out = append(out, p...)
	}
	if !d.Done() || string(out) != "hello world" {
		t.Fatal(d.Done(), string(out))
	}
	if got := string(AppendChunk(AppendChunk(nil, []byte("0123456789abcdefg")), nil)) + LastChunk; got != "11\r\n0123456789abcdefg\r\n0\r\n\r\n" {
		t.Fatalf("%q", got)
	}
	if got := string(AppendChunkHeader(nil, 255)); got != "ff\r\n" {
		t.Fatal(got)
	}
}

func TestTokens(t *testing.T) {
	got := Tokens(" a , ,b,\tc ;q=1,")
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c ;q=1" {
		t.Fatalf("%q", got)
	}
	for _, tc := range []struct {
		list, name string
		want       bool
	}{
		{"Keep-Alive", "keep-alive", true},
		{" a , ,B,\tc ;q=1,", "b", true},
		{" a , ,b,\tc ;q=1,", "c", false},
		{" a , ,b,\tc ;q=1,", "c ;q=1", true},
		{",,", "", false},
		{"", "", false},
		{"upgrade", "upgrade2", false},
		{"x-upgrade", "upgrade", false},
	} {
		if got := hasToken(tc.list, tc.name); got != tc.want {
			t.Errorf("hasToken(%q, %q) = %v", tc.list, tc.name, got)
		}
	}
	if !IsToken("x-y") || IsToken("") || IsToken("a b") {
		t.Fatal("IsToken")
	}
	if !bytes.Equal(AppendDate(nil, time.Unix(784111777, 0)), []byte("Sun, 06 Nov 1994 08:49:37 GMT")) {
		t.Fatal("date")
	}
}
