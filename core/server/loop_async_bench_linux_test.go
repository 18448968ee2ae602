//go:build linux

package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// ownerRouter models an engine that decides on one goroutine of its own
// (the Lua engine's VM owner): every request hops to it and back. It
// sends every request where it asked to go, with a Forward decision or,
// active, by connecting itself (Request.Connect on the loop, Request.Dial
// on the goroutine path) and answering Committed. Its pendings are
// reused, as the contract lets an engine reuse them.
type ownerRouter struct {
	active bool
	jobs   chan ownerJob
	done   sync.WaitGroup
	free   sync.Pool // *ownerPending
}

// ownerJob is one hop to the owner: a blocking Route (reply set), an
// asynchronous decision, or a Connect's result (connected set).
type ownerJob struct {
	req       *route.Request
	p         *ownerPending
	reply     chan route.Decision
	connected bool
	err       error
}

type ownerPending struct {
	r     *ownerRouter
	rcv   route.Receiver
	state atomic.Int32 // 0 deciding, 1 answered, 2 abandoned
}

func newOwnerRouter(tb testing.TB, active bool) *ownerRouter {
	r := &ownerRouter{active: active, jobs: make(chan ownerJob, 1024)}
	r.free.New = func() any { return &ownerPending{r: r} }
	r.done.Go(r.own)
	tb.Cleanup(func() {
		close(r.jobs)
		r.done.Wait()
	})
	return r
}

// own is the owner goroutine.
func (r *ownerRouter) own() {
	for j := range r.jobs {
		switch {
		case j.reply != nil:
			j.reply <- route.Direct(j.req.Addr)
		case j.connected:
			d := route.Decision{Verdict: route.Committed}
			if j.err != nil {
				d = route.Decision{Verdict: route.Error, Reason: j.err.Error()}
			}
			j.p.answer(d)
		case r.active:
			p := j.p
			j.req.Connect.Connect(j.req.Addr, route.Chain{}, func(err error) {
				r.jobs <- ownerJob{p: p, connected: true, err: err}
			})
		default:
			j.p.answer(route.Direct(j.req.Addr))
		}
	}
}

func (p *ownerPending) answer(d route.Decision) {
	if p.state.CompareAndSwap(0, 1) {
		p.rcv.Decided(d, nil)
	}
}

func (p *ownerPending) Abandon() bool { return p.state.CompareAndSwap(0, 2) }
func (p *ownerPending) Release()      { p.r.free.Put(p) }

var replies = sync.Pool{New: func() any { return make(chan route.Decision, 1) }}

// Route hops to the owner and waits; active, it then dials as an engine
// forwarding actively does.
func (r *ownerRouter) Route(ctx context.Context, req *route.Request) (route.Decision, error) {
	ch := replies.Get().(chan route.Decision)
	r.jobs <- ownerJob{req: req, reply: ch}
	d := <-ch
	replies.Put(ch)
	if !r.active {
		return d, nil
	}
	conn, err := req.Dial(ctx, req.Addr, route.Chain{})
	if err != nil {
		return route.Decision{Verdict: route.Error, Reason: err.Error()}, nil
	}
	return route.Decision{Verdict: route.Committed, Conn: conn}, nil
}

func (r *ownerRouter) RouteAsync(req *route.Request, rcv route.Receiver) (route.Pending, bool) {
	p := r.free.Get().(*ownerPending)
	p.rcv = rcv
	p.state.Store(0)
	r.jobs <- ownerJob{req: req, p: p}
	return p, true
}

// BenchmarkSetupAsync is BenchmarkSetup's SOCKS5 cycle with a router
// that decides on a goroutine of its own (ownerRouter), on the event loop
// (RouteAsync; an active forward through Request.Connect) and on the
// goroutine path (NoEventLoop: Route, blocking its handler; Request.Dial),
// against the same server with no router.
//
//	go test -run='^$' -bench=SetupAsync -benchmem ./core/server
func BenchmarkSetupAsync(b *testing.B) {
	echo := echoServer(b)
	req := append([]byte{5, 1, 0}, connectReq(b, echo)...)
	for _, path := range []struct {
		name   string
		noLoop bool
	}{{"loop", false}, {"goroutines", true}} {
		for _, router := range []string{"none", "forward", "active"} {
			b.Run(path.name+"/"+router, func(b *testing.B) {
				withLoop(b, !path.noLoop)
				var r route.Router
				if router != "none" {
					r = newOwnerRouter(b, router == "active")
				}
				conf := testConfig()
				ts := startServerWith(b, Options{Config: conf, Router: r, NoEventLoop: path.noLoop})
				buf := make([]byte, 512)
				testkit.SetupCycle(b, ts.addr, req, 2+10, buf) // warm-up
				b.ReportAllocs()
				cpu0 := testkit.CPUTime()
				for b.Loop() {
					testkit.SetupCycle(b, ts.addr, req, 2+10, buf)
				}
				b.ReportMetric(float64(testkit.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
				if _, async := ts.LoopDecisions(); !path.noLoop && r != nil && async == 0 {
					b.Fatal("the loop took no asynchronous decision")
				}
			})
		}
	}
}
