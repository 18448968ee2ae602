package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// startHTTP runs a server with only the --http listener and returns its
// address.
func startHTTP(t *testing.T, conf *config.Config, r route.Router) (*testServer, string) {
	t.Helper()
	if conf == nil {
		conf = testConfig()
	}
	conf.Listen = ""
	conf.HTTPListen = "127.0.0.1:0"
	ts := startServer(t, conf, r, nil)
	_, h := ts.Addrs()
	if h == nil {
		t.Fatal("no http listener")
	}
	return ts, h.String()
}

// exchangeRaw sends req on a new connection and returns everything the
// proxy sends until it closes.
func exchangeRaw(t *testing.T, proxy, req string) string {
	t.Helper()
	c := dialProxy(t, proxy)
	mustWrite(t, c, []byte(req))
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

var pageRe = regexp.MustCompile(`^HTTP/1\.1 (\d{3}) ([^\r]*)\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\nConnection: close\r\nContent-type: text/html\r\n\r\n<HTML><HEAD><TITLE>(\d{3}) ([^<]*)</TITLE></HEAD>\n<BODY><H1>\d{3} [^<]*</H1>\n[^\n]*\n</BODY></HTML>\n$`)

// expectPage checks out is exactly one error page with code.
func expectPage(t *testing.T, out string, code int) {
	t.Helper()
	m := pageRe.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(code) || m[3] != m[1] || m[2] != m[4] {
		t.Fatalf("want error page %d, got %q", code, out)
	}
}

// upstream is a scripted origin server: for each connection it reads the
// request head, records it, and calls serve.
type upstream struct {
	addr  string
	mu    sync.Mutex
	heads []string
}

func (u *upstream) last() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.heads) == 0 {
		return ""
	}
	return u.heads[len(u.heads)-1]
}

func startUpstream(t *testing.T, serve func(c net.Conn, br *bufio.Reader, head string)) *upstream {
	t.Helper()
	u := &upstream{}
	u.addr = testkit.Serve(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		u.mu.Lock()
		u.heads = append(u.heads, head.String())
		u.mu.Unlock()
		serve(c, br, head.String())
	})
	return u
}

// reply returns a serve func that writes resp verbatim and closes.
func reply(resp string) func(net.Conn, *bufio.Reader, string) {
	return func(c net.Conn, _ *bufio.Reader, _ string) { _, _ = io.WriteString(c, resp) }
}

func TestHTTPConnect(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		var mu sync.Mutex
		var got []route.Request
		var decide func(req *route.Request) (route.Decision, error)
		router := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
			mu.Lock()
			got = append(got, *req)
			f := decide
			mu.Unlock()
			return f(req)
		})
		set := func(f func(req *route.Request) (route.Decision, error)) {
			mu.Lock()
			decide = f
			mu.Unlock()
		}
		lastReq := func() route.Request {
			mu.Lock()
			defer mu.Unlock()
			return got[len(got)-1]
		}
		ts, hp := startHTTP(t, nil, router)

		t.Run("tunnel with read-ahead", func(t *testing.T) {
			set(func(req *route.Request) (route.Decision, error) { return route.Direct(echo), nil })
			c := dialProxy(t, hp)
			mustWrite(t, c, []byte("CONNECT Example.COM:443 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\nearly"))
			want := "HTTP/1.1 200 Connection established\r\n\r\n"
			if b := readN(t, c, len(want)); string(b) != want {
				t.Fatalf("%q", b)
			}
			if b := readN(t, c, 5); string(b) != "early" {
				t.Fatalf("%q", b)
			}
			echoRoundTrip(t, c, "more data")
			r := lastReq()
			if r.Addr != "Example.COM:443" || r.Callback != route.Resolve || r.Cred != (route.Credentials{Username: "user", Password: "pass", HasUsername: true, HasPassword: true}) {
				t.Fatalf("%+v", r)
			}
		})
		t.Run("ip literal still resolve", func(t *testing.T) {
			set(func(req *route.Request) (route.Decision, error) { return route.Direct(echo), nil })
			c := dialProxy(t, hp)
			mustWrite(t, c, []byte("CONNECT [2001:db8::1]:443 HTTP/1.0\r\nProxy-Authorization: Bearer x\r\n\r\n"))
			readN(t, c, len(http200))
			if r := lastReq(); r.Addr != "[2001:db8::1]:443" || r.Callback != route.Resolve || r.Cred.HasUsername {
				t.Fatalf("%+v", r)
			}
		})
		cases := []struct {
			name   string
			decide func(req *route.Request) (route.Decision, error)
			code   int
		}{
			{"reject", func(*route.Request) (route.Decision, error) { return route.Decision{Verdict: route.Reject}, nil }, 403},
			{"ruleset error verdict", func(*route.Request) (route.Decision, error) {
				return route.Decision{Verdict: route.Error, Reason: "boom"}, nil
			}, 403},
			{"router error", func(*route.Request) (route.Decision, error) { return route.Decision{}, errors.New("no ruleset table") }, 500},
			{"dial failure", func(*route.Request) (route.Decision, error) { return route.Direct(testkit.ClosedPort(t).String()), nil }, 502},
			{"bad destination", func(*route.Request) (route.Decision, error) { return route.Direct("nonsense"), nil }, 403},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				set(tc.decide)
				expectPage(t, exchangeRaw(t, hp, "CONNECT a.example:443 HTTP/1.1\r\n\r\n"), tc.code)
			})
		}
		// The 200 reply goes out before the session is counted as a success,
		// so the count can trail the client's read by a moment.
		testkit.WaitFor(t, "two successful sessions", func() bool { return ts.stats.Success.Load() >= 2 })
		if ts.stats.RejectRuleset.Load() != 4 || ts.stats.RejectUpstream.Load() != 1 || ts.stats.Request.Load() != 7 || ts.stats.Success.Load() != 2 {
			t.Fatalf("counters: ruleset=%d upstream=%d request=%d success=%d", ts.stats.RejectRuleset.Load(),
				ts.stats.RejectUpstream.Load(), ts.stats.Request.Load(), ts.stats.Success.Load())
		}
	})
}

const http200 = "HTTP/1.1 200 Connection established\r\n\r\n"

func TestHTTPConnectNoRuleset(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		_, hp := startHTTP(t, nil, nil)
		c := dialProxy(t, hp)
		mustWrite(t, c, []byte("CONNECT "+echo+" HTTP/1.1\r\n\r\n"))
		if b := readN(t, c, len(http200)); string(b) != http200 {
			t.Fatalf("%q", b)
		}
		echoRoundTrip(t, c, "x")
		expectPage(t, exchangeRaw(t, hp, "CONNECT example.com HTTP/1.1\r\n\r\n"), 500)
		expectPage(t, exchangeRaw(t, hp, "CONNECT "+testkit.ClosedPort(t).String()+" HTTP/1.1\r\n\r\n"), 502)
	})
}

func TestHTTPBadRequests(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		_, hp := startHTTP(t, nil, nil)
		cases := []struct {
			name, req string
			code      int
		}{
			{"one space", "GET /\r\n\r\n", 400},
			{"version", "GET http://a/ HTTP/2.0\r\n\r\n", 400},
			{"control", "GET http://a/\x01 HTTP/1.1\r\n\r\n", 400},
			{"obs-fold", "GET http://a/ HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
			{"bad name", "GET http://a/ HTTP/1.1\r\nA b: c\r\n\r\n", 400},
			{"bare lf", "GET http://a/ HTTP/1.1\nHost: a\n\n", 400},
			{"auth syntax", "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic\r\n\r\n", 400},
			{"te", "GET http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
			{"te and length", "POST http://a/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
			{"dup host", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
			{"dup length", "POST http://a/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400},
			{"origin form", "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400},
			{"https", "GET https://a/ HTTP/1.1\r\n\r\n", 400},
			{"lowercase connect", "connect a:443 HTTP/1.1\r\n\r\n", 400},
			{"asterisk", "OPTIONS * HTTP/1.1\r\n\r\n", 400},
			{"escaped control in host", "GET http://a%00b/ HTTP/1.1\r\n\r\n", 400},
			{"head too large", "GET http://a/ HTTP/1.1\r\nX: " + strings.Repeat("x", 8200) + "\r\n\r\n", 413},
			{"too many headers", "GET http://a/ HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", 413},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expectPage(t, exchangeRaw(t, hp, tc.req), tc.code)
			})
		}
		t.Run("eof before head", func(t *testing.T) {
			c := dialProxy(t, hp)
			mustWrite(t, c, []byte("GET http://a/ HTTP/1.1\r\n"))
			_ = c.(*net.TCPConn).CloseWrite()
			expectClosed(t, c)
		})
	})
}

func TestHTTPAuthRequired(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		var mu sync.Mutex
		var cred route.Credentials
		echo := echoServer(t)
		router := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
			mu.Lock()
			cred = req.Cred
			mu.Unlock()
			if req.Cred.Password != "secret" {
				return route.Decision{Verdict: route.Reject}, nil
			}
			return route.Direct(echo), nil
		})
		conf := testConfig()
		conf.AuthRequired = true
		_, hp := startHTTP(t, conf, router)
		want407 := regexp.MustCompile(`^HTTP/1\.1 407 Proxy Authentication Required\r\nDate: [^\r]+ GMT\r\nConnection: close\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n$`)
		for _, hdr := range []string{"", "Proxy-Authorization: Bearer abc\r\n", "Proxy-Authorization: Basic !!!\r\n",
			"Proxy-Authorization: Basic dXNlcg==\r\n", "Proxy-Authorization: basic dXNlcjpzZWNyZXQ=\r\n"} {
			if out := exchangeRaw(t, hp, "CONNECT a:1 HTTP/1.1\r\n"+hdr+"\r\n"); !want407.MatchString(out) {
				t.Fatalf("%q: %q", hdr, out)
			}
		}
		if out := exchangeRaw(t, hp, "GET http://a/ HTTP/1.1\r\n\r\n"); !want407.MatchString(out) {
			t.Fatalf("%q", out)
		}
		expectPage(t, exchangeRaw(t, hp, "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjp3cm9uZw==\r\n\r\n"), 403)
		c := dialProxy(t, hp)
		mustWrite(t, c, []byte("CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n"))
		if b := readN(t, c, len(http200)); string(b) != http200 {
			t.Fatalf("%q", b)
		}
		mu.Lock()
		defer mu.Unlock()
		if cred != (route.Credentials{Username: "user", Password: "secret", HasUsername: true, HasPassword: true}) {
			t.Fatalf("%+v", cred)
		}
	})
}

func TestHTTPProxyPassRebuild(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		up := startUpstream(t, reply("HTTP/1.0 200 Whatever\r\nContent-Length: 2\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-End: 2\r\n\r\nhi"))
		var routed string
		var mu sync.Mutex
		router := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
			mu.Lock()
			routed = req.Addr
			mu.Unlock()
			return route.Direct(up.addr), nil
		})
		ts, hp := startHTTP(t, nil, router)
		out := exchangeRaw(t, hp, "GET http://user:pw@Example.com/a%20b/c?x=1&y#frag HTTP/1.1\r\n"+
			"Host: ignored\r\nUser-Agent: t/1\r\nConnection: X-Drop\r\nX-Drop: 1\r\nProxy-Connection: keep-alive\r\n"+
			"Keep-Alive: 1\r\nTE: trailers\r\nProxy-Authorization: Basic eDp5\r\nVia: 1.0 other\r\nx-mixed-Case: v\r\n\r\n")
		wantUp := "GET /a%20b/c?x=1&y HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: t/1\r\nVia: 1.0 other\r\nx-mixed-Case: v\r\nVia: 1.1 neosocksd\r\nConnection: close\r\n\r\n"
		if got := up.last(); got != wantUp {
			t.Fatalf("upstream got\n%q\nwant\n%q", got, wantUp)
		}
		wantDown := "HTTP/1.1 200 OK\r\nX-End: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
		if out != wantDown {
			t.Fatalf("client got\n%q\nwant\n%q", out, wantDown)
		}
		mu.Lock()
		if routed != "Example.com:80" {
			t.Fatalf("routed %q", routed)
		}
		mu.Unlock()
		exchangeRaw(t, hp, "GET http://[::1]:8080 HTTP/1.0\r\n\r\n")
		if got := up.last(); got != "GET / HTTP/1.0\r\nHost: [::1]:8080\r\nVia: 1.0 neosocksd\r\nConnection: close\r\n\r\n" {
			t.Fatalf("%q", got)
		}
		mu.Lock()
		if routed != "[::1]:8080" {
			t.Fatalf("routed %q", routed)
		}
		mu.Unlock()
		if ts.stats.Success.Load() != 2 || ts.stats.BytesDown.Load() == 0 || ts.stats.BytesUp.Load() == 0 {
			t.Fatal("counters")
		}
	})
}

func TestHTTPProxyPassResponses(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		cases := []struct {
			name   string
			req    string
			resp   string
			want   string // exact client output; "" with code: an error page
			code   int
			upWant string // substring the upstream request must contain
		}{
			{name: "chunked response", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
				want: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
			{name: "close delimited", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 299 Custom\r\nX: y\r\n\r\nuntil the end",
				want: "HTTP/1.1 299 \r\nX: y\r\nConnection: close\r\n\r\nuntil the end"},
			{name: "length surplus dropped", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 404 Gone\r\nContent-Length: 3\r\n\r\nabcdef",
				want: "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
			{name: "head bodiless", req: "HEAD http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
				want: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"},
			{name: "204", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 204 No Content\r\n\r\n",
				want: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"},
			{name: "304 keeps length", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
				want: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"},
			{name: "interim", req: "GET http://%s/ HTTP/1.1\r\n\r\n",
				resp: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
				want: "HTTP/1.1 103 \r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"},
			{name: "bad status", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "HTTP/1.1 2x0 OK\r\n\r\n", code: 502},
			{name: "not http", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "SSH-2.0-OpenSSH\r\n\r\n", code: 502},
			{name: "bad te", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", code: 502},
			{name: "bad length", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", code: 502},
			{name: "eof before head", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "HTTP/1.1 200 OK\r\n", code: 502},
			{name: "empty response", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "", code: 502},
			{name: "truncated body", req: "GET http://%s/ HTTP/1.1\r\n\r\n", resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
				want: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				up := startUpstream(t, reply(tc.resp))
				_, hp := startHTTP(t, nil, nil)
				out := exchangeRaw(t, hp, fmt.Sprintf(tc.req, up.addr))
				if tc.code != 0 {
					expectPage(t, out, tc.code)
					return
				}
				if out != tc.want {
					t.Fatalf("got\n%q\nwant\n%q", out, tc.want)
				}
			})
		}
	})
}

func TestHTTPProxyPassBodies(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		// The upstream echoes the request body it receives (de-chunked if
		// chunked) as a Content-Length response.
		up := startUpstream(t, func(c net.Conn, br *bufio.Reader, head string) {
			req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(head), br)))
			if err != nil {
				return
			}
			if req.Header.Get("Expect") == "100-continue" {
				_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
				return
			}
			te := "identity"
			if len(req.TransferEncoding) > 0 {
				te = req.TransferEncoding[0]
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-TE: %s\r\nContent-Length: %d\r\n\r\n%s", te, len(body), body)
		})
		_, hp := startHTTP(t, nil, nil)

		t.Run("content-length", func(t *testing.T) {
			out := exchangeRaw(t, hp, "POST http://"+up.addr+"/p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
			if !strings.HasSuffix(out, "\r\n\r\nhello") || !strings.Contains(out, "X-TE: identity") {
				t.Fatalf("%q", out)
			}
			if !strings.Contains(up.last(), "Content-Length: 5\r\nConnection: close\r\n\r\n") {
				t.Fatalf("%q", up.last())
			}
		})
		t.Run("chunked", func(t *testing.T) {
			out := exchangeRaw(t, hp, "POST http://"+up.addr+"/p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n")
			if !strings.HasSuffix(out, "\r\n\r\nabcde") || !strings.Contains(out, "X-TE: chunked") {
				t.Fatalf("%q", out)
			}
		})
		t.Run("malformed chunked", func(t *testing.T) {
			slow := startUpstream(t, func(c net.Conn, br *bufio.Reader, head string) {
				_, _ = io.Copy(io.Discard, br)
			})
			out := exchangeRaw(t, hp, "POST http://"+slow.addr+"/p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
			expectPage(t, out, 400)
		})
		t.Run("expect continue", func(t *testing.T) {
			c := dialProxy(t, hp)
			mustWrite(t, c, []byte("PUT http://"+up.addr+"/p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
				t.Fatalf("%q %v", line, err)
			}
			if l, _ := br.ReadString('\n'); l != "\r\n" {
				t.Fatalf("%q", l)
			}
			mustWrite(t, c, []byte("data"))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "data" || !resp.Close {
				t.Fatal(resp, string(body))
			}
			if !strings.Contains(up.last(), "Expect: 100-continue\r\n") {
				t.Fatalf("%q", up.last())
			}
		})
	})
}

func TestHTTPUpgrade(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		up := startUpstream(t, func(c net.Conn, br *bufio.Reader, head string) {
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_, _ = io.Copy(c, br)
		})
		ts, hp := startHTTP(t, nil, nil)
		c := dialProxy(t, hp)
		mustWrite(t, c, []byte("GET http://"+up.addr+"/ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\nframe1"))
		want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		if b := readN(t, c, len(want)); string(b) != want {
			t.Fatalf("%q", b)
		}
		if b := readN(t, c, 6); string(b) != "frame1" {
			t.Fatalf("%q", b)
		}
		echoRoundTrip(t, c, "frame2")
		if got := up.last(); got != "GET /ws HTTP/1.1\r\nHost: "+up.addr+"\r\nSec-WebSocket-Key: k\r\nVia: 1.1 neosocksd\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n" {
			t.Fatalf("%q", got)
		}
		if ts.stats.Sessions.Load() != 1 {
			t.Fatal("upgrade is not an active session")
		}
	})
}

func TestHTTPInactivityTimeout(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		hold := make(chan struct{})
		up := startUpstream(t, func(c net.Conn, br *bufio.Reader, head string) { <-hold })
		defer close(hold)
		conf := testConfig()
		conf.Timeout = 0.3
		ts, hp := startHTTP(t, conf, nil)
		c := dialProxy(t, hp)
		mustWrite(t, c, []byte("GET http://"+up.addr+"/ HTTP/1.1\r\n\r\n"))
		start := time.Now()
		expectClosed(t, c)
		if time.Since(start) > 5*time.Second {
			t.Fatal("not closed by the inactivity timer")
		}
		testkit.WaitFor(t, "session end", func() bool { return ts.stats.Sessions.Load() == 0 })
	})
}

// TestHTTPClients cross-checks the proxy with net/http and curl against a
// net/http origin server.
func TestHTTPClients(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		origin := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			w.Header().Set("X-Via", r.Header.Get("Via"))
			w.Header().Set("X-Len", strconv.Itoa(len(body)))
			w.Header().Set("X-Chunked", strconv.FormatBool(len(r.TransferEncoding) > 0))
			switch r.URL.Path {
			case "/stream":
				// No Content-Length: net/http answers chunked.
				for i := range 3 {
					fmt.Fprintf(w, "part%d;", i)
					w.(http.Flusher).Flush()
				}
			default:
				_, _ = w.Write(body)
			}
		})}
		go func() { _ = origin.Serve(ln) }()
		t.Cleanup(func() { origin.Close() })
		echo := echoServer(t)
		_, hp := startHTTP(t, nil, nil)
		base := "http://" + ln.Addr().String()

		proxyURL, _ := url.Parse("http://" + hp)
		client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: 10 * time.Second}
		t.Run("net/http get", func(t *testing.T) {
			resp, err := client.Get(base + "/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "part0;part1;part2;" || resp.Header.Get("X-Via") != "1.1 neosocksd" || resp.TransferEncoding == nil {
				t.Fatalf("%v %q", resp.Header, body)
			}
		})
		t.Run("net/http chunked post", func(t *testing.T) {
			data := strings.Repeat("0123456789", 10000)
			// An io.Reader without a length makes net/http send chunked.
			resp, err := client.Post(base+"/echo", "text/plain", io.MultiReader(strings.NewReader(data)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != data || resp.Header.Get("X-Chunked") != "true" {
				t.Fatalf("%v len=%d", resp.Header, len(body))
			}
		})
		t.Run("net/http connect", func(t *testing.T) {
			// Dial the echo server through CONNECT the way net/http does for
			// https targets.
			c := dialProxy(t, hp)
			req := &http.Request{Method: "CONNECT", URL: &url.URL{Opaque: echo}, Host: echo, Header: http.Header{}}
			if err := req.Write(c); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatal(resp, err)
			}
			mustWrite(t, c, []byte("ping"))
			b := make([]byte, 4)
			if _, err := io.ReadFull(br, b); err != nil || string(b) != "ping" {
				t.Fatal(string(b), err)
			}
		})

		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		run := func(args ...string) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args = append([]string{"-sS", "--proxy", "http://" + hp}, args...)
			out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		if out := run(base + "/stream"); out != "part0;part1;part2;" {
			t.Fatalf("%q", out)
		}
		if out := run("--data-binary", "hello body", base+"/echo"); out != "hello body" {
			t.Fatalf("%q", out)
		}
		if out := run("-H", "Transfer-Encoding: chunked", "--data-binary", "chunked body", "-D", "-", base+"/echo"); !strings.Contains(out, "X-Chunked: true") || !strings.HasSuffix(out, "chunked body") {
			t.Fatalf("%q", out)
		}
		if out := run("-I", base+"/echo"); !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "X-Method: HEAD") {
			t.Fatalf("%q", out)
		}
		if out := run("-p", "-D", "-", base+"/echo"); !strings.Contains(out, "200 Connection established") ||
			!strings.Contains(out, "X-Method: GET") || strings.Contains(out, "neosocksd") {
			t.Fatalf("%q", out)
		}
		big := bytes.Repeat([]byte("x"), 3<<20)
		cmd := exec.Command(curl, "-sS", "--proxy", "http://"+hp, "--data-binary", "@-", base+"/echo")
		cmd.Stdin = bytes.NewReader(big)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, big) {
			t.Fatalf("big post: %v len=%d", err, len(out))
		}
	})
}

func TestHTTPHalfOpenTimeout(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		conf := testConfig()
		conf.Timeout = 0.3
		slow := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
			<-ctx.Done()
			return route.Decision{Verdict: route.Reject}, nil
		})
		ts, hp := startHTTP(t, conf, slow)
		// A head that never completes, and a ruleset that never decides: both
		// close without a status once -t passes.
		for _, req := range []string{"GET http://a/ HTTP/1.1\r\nX: y\r\n", "CONNECT a:1 HTTP/1.1\r\n\r\n", "GET http://a/ HTTP/1.1\r\n\r\n"} {
			c := dialProxy(t, hp)
			mustWrite(t, c, []byte(req))
			expectClosed(t, c)
		}
		testkit.WaitFor(t, "timeouts counted", func() bool { return ts.stats.RejectTimeout.Load() == 3 })
		if ts.stats.HalfOpen.Load() != 0 || ts.stats.RejectRuleset.Load() != 0 {
			t.Fatalf("halfopen=%d ruleset=%d", ts.stats.HalfOpen.Load(), ts.stats.RejectRuleset.Load())
		}
	})
}
