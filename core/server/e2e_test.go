package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/proxy"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// httpTarget serves a fixed body over loopback.
func httpTarget(t *testing.T) (string, string) {
	t.Helper()
	body := "hello from the target\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), body
}

// nameRouter sends "target.test:<port>" to 127.0.0.1 and checks the
// credentials when want is set; everything else goes where it asked.
func nameRouter(user, pass string) route.Router {
	return route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
		if user != "" && (req.Cred.Username != user || req.Cred.Password != pass) {
			return route.Decision{Verdict: route.Reject}, nil
		}
		if host, port, ok := strings.Cut(req.Addr, ":"); ok && host == "target.test" {
			return route.Direct("127.0.0.1:" + port), nil
		}
		return route.Direct(req.Addr), nil
	})
}

func TestCurl(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		target, body := httpTarget(t)
		_, port, _ := net.SplitHostPort(target)
		ts := startServer(t, testConfig(), nameRouter("", ""), nil)
		authConf := testConfig()
		authConf.AuthRequired = true
		auth := startServer(t, authConf, nameRouter("user", "pass"), nil)
		tests := []struct {
			name string
			srv  *testServer
			args []string
			url  string
			fail bool
		}{
			{name: "socks4", srv: ts, args: []string{"--socks4"}, url: "http://" + target + "/"},
			{name: "socks4a", srv: ts, args: []string{"--socks4a"}, url: "http://target.test:" + port + "/"},
			{name: "socks5", srv: ts, args: []string{"--socks5"}, url: "http://" + target + "/"},
			{name: "socks5-hostname", srv: ts, args: []string{"--socks5-hostname"}, url: "http://target.test:" + port + "/"},
			{name: "socks5 with credentials", srv: auth, args: []string{"--socks5-hostname", "-U", "user:pass"}, url: "http://target.test:" + port + "/"},
			{name: "socks5 wrong password", srv: auth, args: []string{"--socks5-hostname", "-U", "user:nope"}, url: "http://target.test:" + port + "/", fail: true},
			{name: "socks5 no credentials", srv: auth, args: []string{"--socks5-hostname"}, url: "http://target.test:" + port + "/", fail: true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				args := []string{"-sS", "--max-time", "10", tc.args[0], tc.srv.addr}
				args = append(append(args, tc.args[1:]...), tc.url)
				out, err := exec.Command(curl, args...).CombinedOutput()
				if tc.fail {
					if err == nil {
						t.Fatalf("curl succeeded: %s", out)
					}
					return
				}
				if err != nil || string(out) != body {
					t.Fatalf("curl %v: %v\n%s", args, err, out)
				}
			})
		}
	})
}

// TestCurlConnect: curl's CONNECT (-p, with its Proxy-Connection header)
// through the --http listener, with and without credentials, to a
// loopback HTTP server. On the loop, the tunnels curl asks for are set up
// there, without a hand-off to the goroutine path; only the 407 for a
// missing password is answered by serveHTTP.
func TestCurlConnect(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		target, body := httpTarget(t)
		openTS, open := startHTTP(t, nil, nil)
		authConf := testConfig()
		authConf.AuthRequired = true // no router: any credentials are accepted
		auth, authHP := startHTTP(t, authConf, nil)
		tests := []struct {
			name    string
			srv     *testServer
			proxy   string
			fail    bool
			handoff bool // on the loop, served by the goroutine path
		}{
			{name: "no credentials", srv: openTS, proxy: "http://" + open},
			{name: "credentials", srv: auth, proxy: "http://user:pass@" + authHP},
			{name: "credentials missing", srv: auth, proxy: "http://" + authHP, fail: true, handoff: true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				handoffs := tc.srv.loopHandoffs.Load()
				args := []string{"-sS", "--max-time", "10", "-p", "-x", tc.proxy, "http://" + target + "/"}
				out, err := exec.Command(curl, args...).CombinedOutput()
				if tc.fail {
					if err == nil || !strings.Contains(string(out), "407") {
						t.Fatalf("curl %v: %v\n%s", args, err, out)
					}
				} else if err != nil || string(out) != body {
					t.Fatalf("curl %v: %v\n%s", args, err, out)
				}
				if got := tc.srv.loopHandoffs.Load() - handoffs; loopEnabled && (got != 0) != tc.handoff {
					t.Errorf("%d hand-offs to the goroutine path, want %v", got, tc.handoff)
				}
			})
		}
	})
}

func TestXNetProxyClient(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		authConf := testConfig()
		authConf.AuthRequired = true
		auth := startServer(t, authConf, nameRouter("u", "p"), nil)
		open := startServer(t, testConfig(), nil, nil)
		tests := []struct {
			name string
			srv  *testServer
			auth *proxy.Auth
			fail bool
		}{
			{name: "no auth", srv: open},
			{name: "auth", srv: auth, auth: &proxy.Auth{User: "u", Password: "p"}},
			{name: "bad password", srv: auth, auth: &proxy.Auth{User: "u", Password: "x"}, fail: true},
			{name: "missing credentials", srv: auth, fail: true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				d, err := proxy.SOCKS5("tcp", tc.srv.addr, tc.auth, proxy.Direct)
				if err != nil {
					t.Fatal(err)
				}
				c, err := d.Dial("tcp", echo)
				if tc.fail {
					if err == nil {
						c.Close()
						t.Fatal("dial succeeded")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				echoRoundTrip(t, c, "through x/net/proxy")
			})
		}
	})
}

// TestChain runs the server with -x pointing at a second instance of
// itself (SOCKS5 and SOCKS4A) and at microsocks, and with a router that
// adds hops.
func TestChain(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		second := startServer(t, testConfig(), nil, nil)
		port := 0
		{
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		msAddr := ""
		if _, err := exec.LookPath("microsocks"); err == nil {
			testkit.StartProgram(t, port, "microsocks", "-i", "127.0.0.1", "-p", strconv.Itoa(port))
			msAddr = "127.0.0.1:" + strconv.Itoa(port)
		}
		tests := []struct {
			name   string
			proxy  string
			router route.Router
			ms     bool
		}{
			{name: "second instance socks5", proxy: "socks5://" + second.addr},
			{name: "second instance socks4a", proxy: "socks4a://" + second.addr},
			{name: "microsocks", proxy: "socks5://" + msAddr, ms: true},
			{name: "second instance then microsocks", proxy: "socks5://" + second.addr + ",socks5://" + msAddr, ms: true},
			{name: "router adds microsocks after -x", proxy: "socks5://" + second.addr, ms: true,
				router: route.RouterFunc(func(_ context.Context, req *route.Request) (route.Decision, error) {
					return route.Decision{Verdict: route.Forward, Target: req.Addr, Chain: route.MakeChain("socks5://" + msAddr)}, nil
				})},
			{name: "router forwards actively", proxy: "socks5://" + second.addr,
				router: route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
					c, err := req.Dial(ctx, req.Addr, route.Chain{})
					if err != nil {
						return route.Decision{Verdict: route.Reject}, nil
					}
					return route.Decision{Verdict: route.Committed, Conn: c}, nil
				})},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if tc.ms && msAddr == "" {
					t.Skip("microsocks not installed")
				}
				conf := testConfig()
				conf.Proxy = tc.proxy
				first := startServer(t, conf, tc.router, nil)
				before := second.stats.Success.Load()
				d, err := proxy.SOCKS5("tcp", first.addr, nil, proxy.Direct)
				if err != nil {
					t.Fatal(err)
				}
				c, err := d.Dial("tcp", echo)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				echoRoundTrip(t, c, fmt.Sprintf("chain %s", tc.name))
				if !strings.Contains(tc.proxy, second.addr) {
					return
				}
				if got := second.stats.Success.Load(); got != before+1 {
					t.Fatalf("second instance sessions %d -> %d", before, got)
				}
			})
		}
	})
}
