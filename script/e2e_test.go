package script

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
	"github.com/neosocksd-go/neosocksd/core/testkit/testproxy"
)

// startProxy runs a real proxy server routed by r on loopback.
func startProxy(t *testing.T, r route.Router) string {
	t.Helper()
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.Timeout = 10
	return testproxy.Start(t, &c, r)
}

// socksDial connects to target through the SOCKS5 proxy at p.
func socksDial(p, target string) (net.Conn, error) {
	d, err := proxy.SOCKS5("tcp", p, nil, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	return d.Dial("tcp", target)
}

// echoOnce checks that c echoes a line.
func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("echo %q, want %q", buf, msg)
	}
}

type e2eEnv struct {
	te    *testEngine
	proxy string
	echo  string
}

func newE2E(t *testing.T) *e2eEnv {
	t.Helper()
	te := loadTestRuleset(t, Options{Budget: 200 * time.Millisecond}, "testdata/e2e.lua")
	env := &e2eEnv{te: te, echo: testkit.EchoServer(t)}
	env.proxy = startProxy(t, te.Engine)
	second := startProxy(t, nil)
	te.invoke(t, fmt.Sprintf("_G.ECHO = %q; _G.PROXY = %q; _G.DEAD = %q", env.echo, second, testkit.ClosedPort(t).String()))
	return env
}

func TestProxyThroughRuleset(t *testing.T) {
	env := newE2E(t)
	tests := []struct {
		name   string
		target string
		ok     bool
	}{
		{name: "redirect", target: "echo.test:80", ok: true},
		{name: "reject", target: "reject.test:80"},
		{name: "proxy chain", target: "chain.test:80", ok: true},
		{name: "await.sleep", target: "sleep.test:80", ok: true},
		{name: "await.forward failover", target: "failover.test:80", ok: true},
		{name: "await.forward all fail", target: "allfail.test:80"},
		{name: "forward then continue", target: "forwardlate.test:80", ok: true},
		{name: "runaway callback", target: "loop.test:80"},
		{name: "after the runaway", target: "echo.test:80", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := socksDial(env.proxy, tc.target)
			if !tc.ok {
				if err == nil {
					c.Close()
					t.Fatal("connected, want a refusal")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			echoOnce(t, c, "hello "+tc.name+"\n")
		})
	}
	// the failover routine saw the dead proxy first
	var errs string
	if err := env.te.do(context.Background(), func(v *vm) {
		errs = v.L.G.Global.RawGetString("forward_errors").String()
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errs, "connection failed") {
		t.Errorf("forward errors %q, want connection failed", errs)
	}
}

func TestHotUpdateWithOpenConnections(t *testing.T) {
	env := newE2E(t)
	var open []net.Conn
	for i := range 3 {
		c, err := socksDial(env.proxy, "echo.test:80")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echoOnce(t, c, fmt.Sprintf("before %d\n", i))
		open = append(open, c)
	}
	src, err := readScript("testdata/reject_all.lua")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.te.Update(context.Background(), "", "@reject_all.lua", src); err != nil {
		t.Fatal(err)
	}
	for i, c := range open {
		echoOnce(t, c, fmt.Sprintf("after %d\n", i))
	}
	if c, err := socksDial(env.proxy, "echo.test:80"); err == nil {
		c.Close()
		t.Fatal("new connection allowed after the update to a rejecting ruleset")
	}
	// globals survive the swap
	env.te.invoke(t, `assert(_G.ECHO and _G.rejected == 1, "globals lost")`)
	// a failed update keeps the rejecting ruleset
	if err := env.te.Update(context.Background(), "", "", []byte("return 42")); err == nil ||
		err.Error() != "ruleset: expected table, got number" {
		t.Fatalf("bad update: %v", err)
	}
	if d := routeOf(t, env.te.Engine, route.Resolve, "echo.test:80"); d.Verdict != route.Reject {
		t.Fatalf("after failed update: %v", d)
	}
}

func TestRouteCancelled(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	echo := testkit.EchoServer(t)
	te.invoke(t, fmt.Sprintf(`_G.ECHO = %q
_G.ruleset.resolve = function(addr)
	await.sleep(0.1)
	_G.late = { pcall(await.forward, _G.ECHO) }
	return addr
end`, echo))
	var d net.Dialer
	dialer := func(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	dec, err := te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "a.test:1", Dial: dialer})
	if err != context.DeadlineExceeded || dec.Verdict != route.Error {
		t.Fatalf("cancelled Route: %v %v", dec.Verdict, err)
	}
	for deadline := time.Now().Add(5 * time.Second); te.Invoke(context.Background(), []byte(`assert(_G.late)`)) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the routine did not run on")
		}
	}
	te.invoke(t, `assert(_G.late[1] == false and _G.late[2]:find("not forwardable"), tostring(_G.late[2]))`)
}
