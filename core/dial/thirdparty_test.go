package dial

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// These tests run the dialer against real proxy servers: microsocks
// (SOCKS5), tinyproxy (HTTP CONNECT) and dante (SOCKS4A/SOCKS5). Each is
// skipped only when its binary is not installed.

func startMicrosocks(t *testing.T, user, pass string) string {
	port := testkit.FreePort(t)
	args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port)}
	if user != "" {
		args = append(args, "-u", user, "-P", pass)
	}
	testkit.StartProgram(t, port, "microsocks", args...)
	return "127.0.0.1:" + strconv.Itoa(port)
}

func startTinyproxy(t *testing.T, user, pass string) string {
	if _, err := exec.LookPath("tinyproxy"); err != nil {
		t.Skip("tinyproxy not installed")
	}
	port := testkit.FreePort(t)
	dir := t.TempDir()
	conf := fmt.Sprintf("Port %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 16\nLogLevel Error\nPidFile \"%s\"\n",
		port, filepath.Join(dir, "tinyproxy.pid"))
	// Without ConnectPort lines tinyproxy allows CONNECT to every port.
	if user != "" {
		conf += fmt.Sprintf("BasicAuth %s %s\n", user, pass)
	}
	path := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.StartProgram(t, port, "tinyproxy", "-d", "-c", path)
	return "127.0.0.1:" + strconv.Itoa(port)
}

func startDante(t *testing.T) string {
	if _, err := exec.LookPath("danted"); err != nil {
		t.Skip("danted not installed")
	}
	port := testkit.FreePort(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
socksmethod: none
clientmethod: none
`, port)
	if os.Getuid() == 0 {
		// Settings must precede the rules.
		conf += "user.privileged: root\nuser.unprivileged: nobody\n"
	}
	conf += `client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
`
	path := filepath.Join(dir, "danted.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.StartProgram(t, port, "danted", "-f", path, "-N", "1")
	return "127.0.0.1:" + strconv.Itoa(port)
}

func dialVia(t *testing.T, target string, hops ...string) (net.Conn, *stats.Counters, error) {
	t.Helper()
	st := &stats.Counters{}
	c, err := New(Options{Stats: st}).DialString(testCtx(t), target, route.MakeChain(hops...))
	return c, st, err
}

func TestMicrosocks(t *testing.T) {
	echoAddr := serve(t, "tcp4", echo)
	open := startMicrosocks(t, "", "")
	authed := startMicrosocks(t, "alice", "wonder")
	port := strconv.Itoa(int(echoAddr.Port()))
	for _, tc := range []struct {
		name, target, proxy string
	}{
		{"ipv4", echoAddr.String(), "socks5://" + open},
		{"domain", "localhost:" + port, "socks5://" + open},
		{"auth", echoAddr.String(), "socks5://alice:wonder@" + authed},
		{"auth domain", "localhost:" + port, "socks5://alice:wonder@" + authed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, st, err := dialVia(t, tc.target, tc.proxy)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.(*net.TCPConn); !ok {
				t.Errorf("conn %T", c)
			}
			roundTrip(t, c, "microsocks "+tc.name)
			if st.ClientRx.Load() == 0 || st.ClientTx.Load() == 0 {
				t.Error("handshake bytes not counted")
			}
		})
	}
	t.Run("ipv6 target", func(t *testing.T) {
		v6 := serve(t, "tcp6", echo)
		c, _, err := dialVia(t, v6.String(), "socks5://"+open)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, "to ::1")
	})
	t.Run("wrong password", func(t *testing.T) {
		_, _, err := dialVia(t, echoAddr.String(), "socks5://alice:nope@"+authed)
		wantKind(t, err, ProxyAuth)
	})
	t.Run("no credentials", func(t *testing.T) {
		_, _, err := dialVia(t, echoAddr.String(), "socks5://"+authed)
		wantKind(t, err, ProxyAuth)
	})
	t.Run("refused target", func(t *testing.T) {
		_, _, err := dialVia(t, testkit.ClosedPort(t).String(), "socks5://"+open)
		wantKind(t, err, ProxyRefused)
	})
}

func TestTinyproxy(t *testing.T) {
	echoAddr := serve(t, "tcp4", echo)
	open := startTinyproxy(t, "", "")
	for _, target := range []string{echoAddr.String(), "localhost:" + strconv.Itoa(int(echoAddr.Port()))} {
		t.Run(target, func(t *testing.T) {
			c, _, err := dialVia(t, target, "http://"+open)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.(*net.TCPConn); !ok {
				t.Errorf("conn %T", c)
			}
			roundTrip(t, c, "tinyproxy")
		})
	}
	t.Run("basic auth", func(t *testing.T) {
		authed := startTinyproxy(t, "bob", "builder")
		c, _, err := dialVia(t, echoAddr.String(), "http://bob:builder@"+authed)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "tinyproxy auth")
		c.Close()
		_, _, err = dialVia(t, echoAddr.String(), "http://"+authed)
		wantKind(t, err, ProxyAuth)
	})
	t.Run("unreachable target", func(t *testing.T) {
		_, _, err := dialVia(t, testkit.ClosedPort(t).String(), "http://"+open)
		wantKind(t, err, ProxyProtocol) // tinyproxy answers 500
	})
}

func TestDante(t *testing.T) {
	echoAddr := serve(t, "tcp4", echo)
	dante := startDante(t)
	for _, tc := range []struct {
		name, target, proxy string
	}{
		{"socks5", echoAddr.String(), "socks5://" + dante},
		{"socks5 domain", "localhost:" + strconv.Itoa(int(echoAddr.Port())), "socks5://" + dante},
		{"socks4", echoAddr.String(), "socks4a://someone@" + dante},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dialVia(t, tc.target, tc.proxy)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c, "dante "+tc.name)
		})
	}
	t.Run("socks4a names unsupported by dante", func(t *testing.T) {
		// Dante speaks SOCKS4 but not the 4A extension: it answers 5B.
		_, _, err := dialVia(t, "localhost:"+strconv.Itoa(int(echoAddr.Port())), "socks4a://"+dante)
		wantKind(t, err, ProxyRefused)
	})
	t.Run("socks4 refused", func(t *testing.T) {
		_, _, err := dialVia(t, testkit.ClosedPort(t).String(), "socks4a://"+dante)
		wantKind(t, err, ProxyRefused)
	})
}

// TestRealChains strings the real servers together. A chain given in the
// wrong order cannot work, since each hop speaks a different protocol.
func TestRealChains(t *testing.T) {
	echoAddr := serve(t, "tcp4", echo)
	ms := startMicrosocks(t, "u", "p")
	tp := startTinyproxy(t, "", "")
	port := strconv.Itoa(int(echoAddr.Port()))
	tpPort := tp[len("127.0.0.1:"):]
	chains := []struct {
		name   string
		target string
		hops   []string
	}{
		{"microsocks then tinyproxy", echoAddr.String(), []string{"socks5://u:p@" + ms, "http://" + tp}},
		{"tinyproxy then microsocks, names", "localhost:" + port, []string{"http://" + tp, "socks5://u:p@" + ms}},
		{"microsocks then tinyproxy by name", "localhost:" + port, []string{"socks5://u:p@" + ms, "http://localhost:" + tpPort}},
		{"three hops with a repeat", echoAddr.String(), []string{"http://" + tp, "socks5://u:p@" + ms, "http://" + tp}},
	}
	if _, err := exec.LookPath("danted"); err == nil {
		dante := startDante(t)
		chains = append(chains,
			struct {
				name   string
				target string
				hops   []string
			}{"dante socks4, microsocks, tinyproxy", "localhost:" + port, []string{"socks4a://" + dante, "socks5://u:p@" + ms, "http://" + tp}})
	}
	for _, tc := range chains {
		t.Run(tc.name, func(t *testing.T) {
			c, st, err := dialVia(t, tc.target, tc.hops...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c, "chain "+tc.name)
			if len(tc.hops) > 0 && (st.ClientTx.Load() == 0 || st.ClientRx.Load() == 0) {
				t.Error("handshake bytes with the proxies not counted")
			}
		})
	}
	t.Run("wrong order fails", func(t *testing.T) {
		_, _, err := dialVia(t, echoAddr.String(), "http://"+ms, "socks5://u:p@"+tp)
		if err == nil {
			t.Fatal("reversed protocols worked")
		}
	})
	t.Run("base chain first", func(t *testing.T) {
		base := []addr.Proxy{mustProxy(t, "socks5://u:p@"+ms)}
		c, err := New(Options{Proxies: base}).DialString(testCtx(t), echoAddr.String(), route.MakeChain("http://"+tp))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, "base then hops")
	})
	t.Run("cancel while the chain is being built", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(Options{}).DialString(ctx, echoAddr.String(), route.MakeChain("socks5://u:p@"+ms))
		wantKind(t, err, Cancelled)
	})
}
