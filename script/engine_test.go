package script

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

type testEngine struct {
	*Engine
	out, log *testkit.SyncBuffer
	cfg      *config.Config
}

func newTestEngine(t *testing.T, o Options) *testEngine {
	t.Helper()
	te := &testEngine{out: &testkit.SyncBuffer{}, log: &testkit.SyncBuffer{}}
	if o.Config == nil {
		c := config.Default()
		c.Timeout = 5
		o.Config = &c
	}
	te.cfg = o.Config
	o.Stdout = te.out
	o.Logger = slog.New(slog.NewTextHandler(te.log, &slog.HandlerOptions{Level: slog.Level(-12)}))
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	te.Engine = e
	return te
}

func loadTestRuleset(t *testing.T, o Options, path string) *testEngine {
	t.Helper()
	te := newTestEngine(t, o)
	if err := te.LoadRuleset(path); err != nil {
		t.Fatalf("LoadRuleset(%s): %v", path, err)
	}
	return te
}

func (te *testEngine) invoke(t *testing.T, code string) {
	t.Helper()
	if err := te.Invoke(context.Background(), []byte(code)); err != nil {
		t.Fatalf("invoke %q: %v", code, err)
	}
}

func routeOf(t *testing.T, e *Engine, cb route.Callback, a string) route.Decision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := e.Route(ctx, &route.Request{Callback: cb, Addr: a})
	if err != nil {
		t.Fatalf("Route(%s %s): %v", cb, a, err)
	}
	return d
}

func TestDecisions(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/basic.lua")
	tests := []struct {
		name   string
		cb     route.Callback
		addr   string
		want   route.Verdict
		target string
		chain  []string
		reason string
	}{
		{name: "direct", cb: route.Resolve, addr: "example.com:443", want: route.Forward, target: "example.com:443"},
		{name: "reject nil", cb: route.Resolve, addr: "reject.test:80", want: route.Reject},
		{name: "raise", cb: route.Resolve, addr: "error.test:80", want: route.Error, reason: "boom"},
		{name: "garbage", cb: route.Resolve, addr: "garbage.test:80", want: route.Reject},
		{name: "bad address", cb: route.Resolve, addr: "badaddr.test:80", want: route.Error, reason: "invalid address"},
		{name: "chain reversed", cb: route.Resolve, addr: "chain.test:81", want: route.Forward, target: "127.0.0.1:81",
			chain: []string{"http://127.0.0.1:8080", "socks4a://127.0.0.2:1080", "socks5://127.0.0.3:1080"}},
		{name: "await.sleep", cb: route.Resolve, addr: "sleep.test:82", want: route.Forward, target: "127.0.0.1:82"},
		{name: "await.resolve", cb: route.Resolve, addr: "resolve.test:83", want: route.Forward, target: "127.0.0.1:83"},
		{name: "await in pcall", cb: route.Resolve, addr: "pcall.test:84", want: route.Forward, target: "127.0.0.1:84"},
		{name: "await in xpcall", cb: route.Resolve, addr: "xpcall.test:85", want: route.Forward, target: "127.0.0.1:85"},
		{name: "route v4", cb: route.Route, addr: "192.0.2.1:80", want: route.Forward, target: "192.0.2.1:80"},
		{name: "route v4 reject", cb: route.Route, addr: "10.0.0.1:80", want: route.Reject},
		{name: "route6", cb: route.Route6, addr: "[2001:db8::1]:80", want: route.Forward, target: "[2001:db8::1]:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := routeOf(t, te.Engine, tc.cb, tc.addr)
			if d.Verdict != tc.want {
				t.Fatalf("verdict %v (%q), want %v", d.Verdict, d.Reason, tc.want)
			}
			if d.Target != tc.target {
				t.Errorf("target %q, want %q", d.Target, tc.target)
			}
			if got := d.Chain.Hops(); strings.Join(got, ",") != strings.Join(tc.chain, ",") {
				t.Errorf("chain %v, want %v", got, tc.chain)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", d.Reason, tc.reason)
			}
		})
	}
	// errors, wrong return types and bad addresses are the last error
	for _, a := range []string{"error.test:1", "garbage.test:1", "badaddr.test:1"} {
		routeOf(t, te.Engine, route.Resolve, a)
		body, err := te.RPCall(context.Background(), []byte(`return tostring(neosocksd.stats().lasterror)`))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"error.test:1": "boom", "garbage.test:1": "invalid return value #1: table", "badaddr.test:1": "invalid address"}[a]
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: lasterror %s, want %q", a, body, want)
		}
	}
}

func configForTest() *config.Config {
	c := config.Default()
	c.Timeout = 5
	return &c
}

func TestManyRequestsInFlight(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/gate.lua")
	const n = 200
	floodGated(t, te, n)
	if te.Runtime().ThreadsPeak < n {
		t.Errorf("peak %d", te.Runtime().ThreadsPeak)
	}
}

func TestSleepZeroDoesNotStarve(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/spin.lua")
	const n = 300 // more than the owner's inbox holds
	floodGated(t, te, n)
}

// floodGated sends n resolve requests to a ruleset that holds each until
// _G.open is set, waits until all n are in flight, opens the gate and
// requires every decision to be a forward.
func floodGated(t *testing.T, te *testEngine, n int64) {
	t.Helper()
	results := make(chan route.Decision, n)
	for i := range n {
		go func() {
			d, _ := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: fmt.Sprintf("h%d.test:1", i)})
			results <- d
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); te.Runtime().ThreadsActive < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d routines in flight", te.Runtime().ThreadsActive)
		}
	}
	te.invoke(t, "_G.open = true")
	for range n {
		if d := <-results; d.Verdict != route.Forward {
			t.Fatalf("decision %v %q", d.Verdict, d.Reason)
		}
	}
}
