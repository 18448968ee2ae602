package script

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

// Tests of RouteAsync (route.AsyncRouter) against Route as the oracle: the
// same engine decides each request both ways, the blocking call dialing
// through a fake Request.Dial and the asynchronous one connecting through
// a fake Request.Connect with the same outcome, and what a caller sees
// (decision, error, the Lua-visible results of await.forward, logs, the
// last error, runaways) must match.

// asyncAnswer is one call of Decided.
type asyncAnswer struct {
	d   route.Decision
	err error
}

// fakeReceiver records its Decided calls; the first is handed over on ch.
type fakeReceiver struct {
	n  atomic.Int32
	ch chan asyncAnswer
}

func newReceiver() *fakeReceiver { return &fakeReceiver{ch: make(chan asyncAnswer, 1)} }

func (r *fakeReceiver) Decided(d route.Decision, err error) {
	if r.n.Add(1) == 1 {
		r.ch <- asyncAnswer{d, err}
	}
}

// wait returns the first answer, failing the test after 10 s.
func (r *fakeReceiver) wait(t testing.TB) asyncAnswer {
	t.Helper()
	select {
	case a := <-r.ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("Decided was not called")
		return asyncAnswer{}
	}
}

// outcome is what dialing target through chain gives in these tests:
// a refusal for 10.9.9.9 and for a first hop on port 1, a deadline for
// 192.0.2.9, success otherwise.
func outcome(target string, chain route.Chain) error {
	refused := func(a string) error {
		return dial.ConnectFailed(netipAddrPort(a), syscall.ECONNREFUSED)
	}
	if hops := chain.Hops(); len(hops) > 0 && strings.HasSuffix(hops[0], ":1") {
		return refused("127.0.0.1:1")
	}
	switch {
	case strings.HasPrefix(target, "10.9.9.9:"):
		return refused(target)
	case strings.HasPrefix(target, "192.0.2.9:"):
		// as an event loop's deadline: wrapped, with its own text
		return fmt.Errorf("connect to %s: %w", target, context.DeadlineExceeded)
	}
	return nil
}

func netipAddrPort(s string) (ap netip.AddrPort) {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a.AddrPort()
}

// fakeDial is Request.Dial with outcome's results. A deadline waits for
// ctx (the op's -t timeout) as a real dial does, so that the engine maps
// it to "timeout".
func fakeDial(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
	if err := outcome(target, chain); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			<-ctx.Done()
			return nil, &dial.Error{Kind: dial.Timeout, Err: ctx.Err()}
		}
		return nil, err
	}
	c, peer := net.Pipe()
	_ = peer.Close()
	return c, nil
}

// fakeConnector is Request.Connect with outcome's results, answering
// from another goroutine a moment later, as an event loop does. With
// gate set, Connect hands its call to gate instead, for the test to
// answer.
type fakeConnector struct {
	calls atomic.Int32
	gate  chan connectCall
}

type connectCall struct {
	target string
	chain  route.Chain
	result func(error)
}

func (f *fakeConnector) Connect(target string, chain route.Chain, result func(error)) {
	f.calls.Add(1)
	if f.gate != nil {
		f.gate <- connectCall{target, chain, result}
		return
	}
	go result(outcome(target, chain))
}

// observed is what one decision looked like from outside the engine.
type observed struct {
	d         route.Decision
	err       string
	trace     string
	log       string
	lastError string
	runaways  uint64
}

// timeField matches slog's time attribute, which differs between runs.
var timeField = regexp.MustCompile(`time=\S+ `)

// observe runs decide on te and returns what it saw, once the request's
// routine has ended. The decision's connection, if any, is closed and
// left out: the asynchronous path's is the Connector's.
func observe(t *testing.T, te *testEngine, decide func() (route.Decision, error)) observed {
	t.Helper()
	if err := te.do(context.Background(), func(v *vm) {
		v.L.SetGlobal("trace", lua.LString(""))
		v.lastError = nil
	}); err != nil {
		t.Fatal(err)
	}
	logStart := len(te.log.String())
	runaways := te.Safety().Runaways
	d, err := decide()
	if d.Conn != nil {
		_ = d.Conn.Close()
		d.Conn = nil
	}
	waitRoutines(t, te.Engine)
	var o observed
	o.d = d
	if err != nil {
		o.err = err.Error()
	}
	o.log = timeField.ReplaceAllString(te.log.String()[logStart:], "")
	o.runaways = te.Safety().Runaways - runaways
	if err := te.do(context.Background(), func(v *vm) {
		o.trace = lua.LVAsString(v.L.GetGlobal("trace"))
		if v.lastError != nil {
			o.lastError = errorText(v.lastError)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

// waitRoutines waits, bounded, until no routine is in flight.
func waitRoutines(t testing.TB, e *Engine) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); e.active.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d routines still in flight", e.active.Load())
		}
	}
}

// routeAsync decides req through RouteAsync and waits for Decided.
func routeAsync(t testing.TB, e *Engine, req *route.Request) (route.Decision, *fakeReceiver, error) {
	t.Helper()
	rcv := newReceiver()
	p, ok := e.RouteAsync(req, rcv)
	if !ok {
		t.Fatal("RouteAsync refused the request")
	}
	a := rcv.wait(t)
	p.Release()
	return a.d, rcv, a.err
}

// asyncEngine loads testdata/async.lua with a short -t (the Dial path's
// deadline) and budget (spin.test).
func asyncEngine(t *testing.T) *testEngine {
	t.Helper()
	c := configForTest()
	c.Timeout = 0.2
	return loadTestRuleset(t, Options{Config: c, Budget: 100 * time.Millisecond}, "testdata/async.lua")
}

// asyncCases are the requests both paths decide.
var asyncCases = []struct {
	cb   route.Callback
	addr string
}{
	{route.Resolve, "sink.test:80"},
	{route.Resolve, "www.blocked.test:443"},
	{route.Resolve, "exact.blocked.test:80"},
	{route.Resolve, "unknown.example:80"},
	{route.Resolve, "refuse.test:80"},
	{route.Resolve, "slow.test:80"},
	{route.Resolve, "chain.test:80"},
	{route.Route, "127.0.0.1:9"},
	{route.Route, "10.1.2.3:80"},
	{route.Route, "192.0.2.1:80"},
	{route.Route6, "[::1]:80"},
	{route.Route6, "[2001:db8::1]:80"},
	{route.Resolve, "plain.test:80"},
	{route.Resolve, "plainchain.test:80"},
	{route.Resolve, "nil.test:80"},
	{route.Resolve, "raise.test:80"},
	{route.Resolve, "table.test:80"},
	{route.Resolve, "true.test:80"},
	{route.Resolve, "badaddr.test:80"},
	{route.Resolve, "badproxy.test:80"},
	{route.Resolve, "long.test:80"},
	{route.Resolve, "many.test:80"},
	{route.Resolve, "failover.test:80"},
	{route.Resolve, "failover-none.test:80"},
	{route.Resolve, "twice.test:80"},
	{route.Resolve, "refuseforward.test:80"},
	{route.Resolve, "slowforward.test:80"},
	{route.Resolve, "hopforward.test:80"},
	{route.Resolve, "sleepy.test:80"},
	{route.Resolve, "outlive.test:80"},
	{route.Resolve, "afterforward.test:80"},
	{route.Resolve, "forwardtwice.test:80"},
	{route.Resolve, "forwardnil.test:80"},
	{route.Resolve, "spin.test:80"},
}

func TestRouteAsyncMatchesRoute(t *testing.T) {
	te := asyncEngine(t)
	var rcvs []*fakeReceiver
	for _, tc := range asyncCases {
		t.Run(tc.addr, func(t *testing.T) {
			cred := route.Credentials{Username: "u", HasUsername: true}
			want := observe(t, te, func() (route.Decision, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return te.Route(ctx, &route.Request{Callback: tc.cb, Addr: tc.addr, Cred: cred, Dial: fakeDial})
			})
			conn := &fakeConnector{}
			got := observe(t, te, func() (route.Decision, error) {
				d, rcv, err := routeAsync(t, te.Engine, &route.Request{Callback: tc.cb, Addr: tc.addr, Cred: cred, Connect: conn})
				rcvs = append(rcvs, rcv)
				return d, err
			})
			if got != want {
				t.Errorf("RouteAsync saw\n%+v\nRoute saw\n%+v", got, want)
			}
			if want.d.Verdict == route.Committed && conn.calls.Load() == 0 {
				t.Error("committed without calling Connect")
			}
		})
	}
	te.Close()
	for i, r := range rcvs {
		if n := r.n.Load(); n != 1 {
			t.Errorf("%s: Decided called %d times", asyncCases[i].addr, n)
		}
	}
}

// TestRouteAsyncNoRuleset: with _G.ruleset not a table, both paths
// refuse with the same error, log line and last error.
func TestRouteAsyncNoRuleset(t *testing.T) {
	te := newTestEngine(t, Options{})
	for _, src := range []string{"", "_G.ruleset = 42"} {
		te.invoke(t, src)
		want := observe(t, te, func() (route.Decision, error) {
			return te.Route(context.Background(), &route.Request{Callback: route.Route6, Addr: "[::1]:80"})
		})
		got := observe(t, te, func() (route.Decision, error) {
			d, _, err := routeAsync(t, te.Engine, &route.Request{Callback: route.Route6, Addr: "[::1]:80"})
			return d, err
		})
		if got != want || got.err == "" {
			t.Errorf("%q: RouteAsync saw\n%+v\nRoute saw\n%+v", src, got, want)
		}
	}
}

// TestRouteAsyncPlainDecision: without Dial or Connect, await.forward
// commits to a plain Forward decision on both paths.
func TestRouteAsyncPlainDecision(t *testing.T) {
	te := asyncEngine(t)
	for _, addr := range []string{"sink.test:80", "record.test:80", "failover.test:80"} {
		want := observe(t, te, func() (route.Decision, error) {
			return te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: addr})
		})
		got := observe(t, te, func() (route.Decision, error) {
			d, _, err := routeAsync(t, te.Engine, &route.Request{Callback: route.Resolve, Addr: addr})
			return d, err
		})
		if got != want || got.d.Verdict != route.Forward {
			t.Errorf("%s: RouteAsync saw\n%+v\nRoute saw\n%+v", addr, got, want)
		}
	}
}

// blockOwner parks the owner in a task until the returned function is
// called, so that what is posted meanwhile waits in the inbox.
func blockOwner(t *testing.T, e *Engine) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = e.do(context.Background(), func(*vm) {
			close(entered)
			<-gate
		})
	}()
	<-entered
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release
}

func TestRouteAsyncAbandon(t *testing.T) {
	t.Run("before the start", func(t *testing.T) {
		te := asyncEngine(t)
		release := blockOwner(t, te.Engine)
		rcv := newReceiver()
		conn := &fakeConnector{}
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		if !p.Abandon() {
			t.Fatal("Abandon before the start: false")
		}
		release()
		te.invoke(t, "") // the owner has taken the call
		waitRoutines(t, te.Engine)
		te.Close()
		if rcv.n.Load() != 0 || conn.calls.Load() != 0 {
			t.Errorf("abandoned before the start: Decided %d times, Connect %d times", rcv.n.Load(), conn.calls.Load())
		}
	})
	t.Run("during the forward", func(t *testing.T) {
		te := asyncEngine(t)
		rcv := newReceiver()
		conn := &fakeConnector{gate: make(chan connectCall, 1)}
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		cc := <-conn.gate
		if !p.Abandon() {
			t.Fatal("Abandon during the forward: false")
		}
		cc.result(nil) // the loop connected after all: the request cannot take it
		waitRoutines(t, te.Engine)
		var trace string
		_ = te.do(context.Background(), func(v *vm) { trace = lua.LVAsString(v.L.GetGlobal("trace")) })
		te.Close()
		if rcv.n.Load() != 0 {
			t.Errorf("Decided called %d times after Abandon", rcv.n.Load())
		}
		if trace != "record false request cancelled\n" {
			t.Errorf("await.forward after Abandon gave %q", trace)
		}
	})
	t.Run("after the answer", func(t *testing.T) {
		te := asyncEngine(t)
		rcv := newReceiver()
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "plain.test:80"}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		a := rcv.wait(t)
		if p.Abandon() {
			t.Fatal("Abandon after Decided: true")
		}
		p.Release()
		if a.d != route.Direct("127.0.0.1:7") || a.err != nil {
			t.Errorf("decision %+v %v", a.d, a.err)
		}
	})
	t.Run("a late result after the routine was killed", func(t *testing.T) {
		te := asyncEngine(t)
		rcv := newReceiver()
		conn := &fakeConnector{gate: make(chan connectCall, 1)}
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		cc := <-conn.gate
		// a Go panic on the owner rebuilds the VM: the routine is gone
		_ = te.do(context.Background(), func(v *vm) { panic("simulated gopher-lua panic") })
		a := rcv.wait(t)
		p.Release()
		if a.d != errDecision("ruleset engine restarted") || a.err != nil {
			t.Errorf("decision %+v %v", a.d, a.err)
		}
		cc.result(nil)
		// the engine still decides, and the late result touched nothing
		for range 3 {
			d, _, err := routeAsync(t, te.Engine, &route.Request{Callback: route.Resolve, Addr: "plain.test:80"})
			if d != route.Direct("127.0.0.1:7") || err != nil {
				t.Fatalf("after the rebuild: %+v %v", d, err)
			}
		}
		te.Close()
		if rcv.n.Load() != 1 {
			t.Errorf("Decided called %d times", rcv.n.Load())
		}
	})
}

// TestRouteAsyncRebuildMatchesRoute: a VM rebuilt while a forward is in
// flight answers both paths alike.
func TestRouteAsyncRebuildMatchesRoute(t *testing.T) {
	te := asyncEngine(t)
	dialing := make(chan struct{}, 1)
	gatedDial := func(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
		dialing <- struct{}{}
		<-ctx.Done() // cancelled with the routine's op
		return nil, ctx.Err()
	}
	want := observe(t, te, func() (route.Decision, error) {
		type res struct {
			d   route.Decision
			err error
		}
		ch := make(chan res, 1)
		go func() {
			d, err := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "record.test:80", Dial: gatedDial})
			ch <- res{d, err}
		}()
		<-dialing
		_ = te.do(context.Background(), func(v *vm) { panic("simulated gopher-lua panic") })
		r := <-ch
		return r.d, r.err
	})
	conn := &fakeConnector{gate: make(chan connectCall, 1)}
	var late func(error)
	got := observe(t, te, func() (route.Decision, error) {
		rcv := newReceiver()
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		late = (<-conn.gate).result
		_ = te.do(context.Background(), func(v *vm) { panic("simulated gopher-lua panic") })
		a := rcv.wait(t)
		p.Release()
		return a.d, a.err
	})
	late(nil)
	// the rebuild's own log lines name the panic the same way
	if got != want {
		t.Errorf("RouteAsync saw\n%+v\nRoute saw\n%+v", got, want)
	}
}

// TestRouteAsyncUpdateWhilePending: a ruleset update while a forward is in
// flight leaves the routine running in the old ruleset's code on both
// paths; the next request sees the new one.
func TestRouteAsyncUpdateWhilePending(t *testing.T) {
	te := asyncEngine(t)
	update := func(t *testing.T) {
		if err := te.Update(context.Background(), "", "", []byte(`return { resolve = function() return "127.0.0.1:9" end }`)); err != nil {
			t.Fatal(err)
		}
	}
	reload := func(t *testing.T) {
		if err := te.LoadRuleset("testdata/async.lua"); err != nil {
			t.Fatal(err)
		}
	}
	want := observe(t, te, func() (route.Decision, error) {
		dialing, gate := make(chan struct{}), make(chan struct{})
		type res struct {
			d   route.Decision
			err error
		}
		ch := make(chan res, 1)
		go func() {
			d, err := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "record.test:80", Dial: func(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
				close(dialing)
				<-gate
				return fakeDial(ctx, target, chain)
			}})
			ch <- res{d, err}
		}()
		<-dialing
		update(t)
		close(gate)
		r := <-ch
		return r.d, r.err
	})
	if d := routeOf(t, te.Engine, route.Resolve, "record.test:80"); d != route.Direct("127.0.0.1:9") {
		t.Fatalf("after the update: %+v", d)
	}
	reload(t)
	conn := &fakeConnector{gate: make(chan connectCall, 1)}
	got := observe(t, te, func() (route.Decision, error) {
		rcv := newReceiver()
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
		if !ok {
			t.Fatal("RouteAsync refused")
		}
		cc := <-conn.gate
		update(t)
		cc.result(nil)
		a := rcv.wait(t)
		p.Release()
		return a.d, a.err
	})
	if d, _, err := routeAsync(t, te.Engine, &route.Request{Callback: route.Resolve, Addr: "record.test:80"}); d != route.Direct("127.0.0.1:9") || err != nil {
		t.Fatalf("after the update: %+v %v", d, err)
	}
	if got != want || got.d.Verdict != route.Committed {
		t.Errorf("RouteAsync saw\n%+v\nRoute saw\n%+v", got, want)
	}
}

// TestRouteAsyncClose: calls queued in the inbox and calls whose routine
// awaits a forward are answered at Close with what Route's caller sees;
// RouteAsync after Close refuses.
func TestRouteAsyncClose(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		t.Run(fmt.Sprintf("in flight %v", inFlight), func(t *testing.T) {
			te := asyncEngine(t)
			conn := &fakeConnector{gate: make(chan connectCall, 8)}
			dialing := make(chan struct{}, 8)
			gatedDial := func(ctx context.Context, target string, chain route.Chain) (net.Conn, error) {
				dialing <- struct{}{}
				<-ctx.Done() // the op is cancelled when the engine closes
				return nil, ctx.Err()
			}
			var release func()
			if !inFlight {
				release = blockOwner(t, te.Engine)
			}
			type res struct {
				d   route.Decision
				err error
			}
			blocking := make(chan res, 1)
			go func() {
				d, err := te.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: "record.test:80", Dial: gatedDial})
				blocking <- res{d, err}
			}()
			var rcvs []*fakeReceiver
			for range 3 {
				rcv := newReceiver()
				p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "record.test:80", Connect: conn}, rcv)
				if !ok {
					t.Fatal("RouteAsync refused")
				}
				defer p.Release()
				rcvs = append(rcvs, rcv)
			}
			var late []func(error)
			if inFlight {
				<-dialing
				for range rcvs {
					late = append(late, (<-conn.gate).result)
				}
			} else {
				// the blocking call must be queued too
				for deadline := time.Now().Add(10 * time.Second); len(te.inbox) < 4; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the blocking call was not queued")
					}
				}
			}
			closed := make(chan struct{})
			go func() { te.Close(); close(closed) }()
			<-te.quit
			if release != nil {
				release()
			}
			want := <-blocking
			<-closed
			for _, f := range late {
				f(nil) // after Close: harmless
			}
			if want.d != errDecision(ErrClosed.Error()) || !errors.Is(want.err, ErrClosed) {
				t.Errorf("Route at Close: %+v %v", want.d, want.err)
			}
			for i, rcv := range rcvs {
				a := rcv.wait(t)
				if a.d != want.d || a.err != want.err || rcv.n.Load() != 1 {
					t.Errorf("call %d: Decided %d times, %+v %v; Route gave %+v %v", i, rcv.n.Load(), a.d, a.err, want.d, want.err)
				}
			}
			if _, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "plain.test:80"}, newReceiver()); ok {
				t.Error("RouteAsync after Close: ok")
			}
		})
	}
}

// TestRouteAsyncInboxFull: with the owner busy and the inbox full,
// RouteAsync refuses at once and changes nothing; the queued calls are
// all answered once.
func TestRouteAsyncInboxFull(t *testing.T) {
	te := asyncEngine(t)
	release := blockOwner(t, te.Engine)
	var rcvs []*fakeReceiver
	var ps []route.Pending
	for {
		rcv := newReceiver()
		p, ok := te.RouteAsync(&route.Request{Callback: route.Resolve, Addr: "plain.test:80"}, rcv)
		if !ok {
			if len(rcvs) != cap(te.inbox) {
				t.Fatalf("refused after %d calls, the inbox holds %d", len(rcvs), cap(te.inbox))
			}
			break
		}
		if len(rcvs) > cap(te.inbox) {
			t.Fatalf("%d calls accepted by an inbox of %d", len(rcvs), cap(te.inbox))
		}
		rcvs, ps = append(rcvs, rcv), append(ps, p)
	}
	release()
	for i, rcv := range rcvs {
		if a := rcv.wait(t); a.d != route.Direct("127.0.0.1:7") || a.err != nil {
			t.Fatalf("call %d: %+v %v", i, a.d, a.err)
		}
		ps[i].Release()
	}
	te.Close()
	for i, rcv := range rcvs {
		if n := rcv.n.Load(); n != 1 {
			t.Fatalf("call %d: Decided %d times", i, n)
		}
	}
}

// eagerReceiver releases its call as early as the contract allows: in
// Decided itself, or right after RouteAsync returns when Decided came
// first; whichever of the two comes second releases.
type eagerReceiver struct {
	fakeReceiver
	p      route.Pending
	second atomic.Bool
}

func (r *eagerReceiver) Decided(d route.Decision, err error) {
	r.fakeReceiver.Decided(d, err)
	if r.second.Swap(true) {
		r.p.Release()
	}
}

// started hands over p, which RouteAsync returned.
func (r *eagerReceiver) started(p route.Pending) {
	r.p = p
	if r.second.Swap(true) {
		p.Release()
	}
}

// TestRouteAsyncPoolReuse checks that a call is never reused while either
// side may still touch it: concurrent callers, releasing as early as they
// may, abandoning at random points, with routines that outlive their
// callers, must each see their own request's decision, exactly once, and
// the VM must never have been rebuilt after a corrupt call.
func TestRouteAsyncPoolReuse(t *testing.T) {
	te := asyncEngine(t)
	const callers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	var mu sync.Mutex
	var answered []*eagerReceiver
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range rounds {
				var req route.Request
				var want route.Decision
				switch j % 3 {
				case 0:
					addr := fmt.Sprintf("127.0.%d.%d:80", i, j%250+1)
					req = route.Request{Callback: route.Route, Addr: addr, Connect: &fakeConnector{}}
					want = route.Decision{Verdict: route.Committed, Target: addr}
				case 1:
					req = route.Request{Callback: route.Resolve, Addr: "outlive.test:80", Connect: &fakeConnector{}}
					want = route.Decision{Verdict: route.Committed, Target: "127.0.0.1:7"}
				default:
					req = route.Request{Callback: route.Resolve, Addr: "plain.test:80"}
					want = route.Direct("127.0.0.1:7")
				}
				rcv := &eagerReceiver{fakeReceiver: *newReceiver()}
				p, ok := te.RouteAsync(&req, rcv)
				if !ok {
					continue // inbox full under load: Route would decide instead
				}
				if j%5 == 0 && p.Abandon() {
					continue
				}
				rcv.started(p)
				a := <-rcv.ch
				mu.Lock()
				answered = append(answered, rcv)
				mu.Unlock()
				if a.d != want || a.err != nil {
					errs <- fmt.Errorf("%s: %+v %v, want %+v", req.Addr, a.d, a.err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitRoutines(t, te.Engine)
	te.Close()
	for _, r := range answered {
		if n := r.n.Load(); n != 1 {
			t.Fatalf("Decided called %d times", n)
		}
	}
	if n := te.Safety().Rebuilds; n != 0 {
		t.Errorf("%d VM rebuilds", n)
	}
}
