package script

import (
	"context"
	"net"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// wakeReceiver wakes the benchmark goroutine with the decision, as an
// event loop's post queue would wake the loop.
type wakeReceiver chan asyncAnswer

func (w wakeReceiver) Decided(d route.Decision, err error) { w <- asyncAnswer{d, err} }

// loopConnector stands for an event loop that connects at once: its one
// goroutine calls every result in turn, with success.
type loopConnector chan func(error)

func (l loopConnector) Connect(_ string, _ route.Chain, result func(error)) { l <- result }

func (l loopConnector) run() {
	for f := range l {
		f(nil)
	}
}

// sharedConn is a connection whose Close does nothing, so that the Dial
// rows pay for neither a pipe nor its close: only the engine's side.
type sharedConn struct{ net.Conn }

func (sharedConn) Close() error { return nil }

// BenchmarkAsync prices a decision through RouteAsync against Route, from
// one caller. route and async decide on the trivial ruleset (async is
// BenchmarkHop/route through RouteAsync, waking the caller from the
// Receiver); forward/dial and forward/connect forward actively on
// testdata/forward.lua, through Request.Dial (an op worker, a context
// with the -t deadline) and through Request.Connect (a goroutine standing
// for the event loop, which calls each result at once). Neither makes a
// real connection. Instructions per decision come from callgrind as in
// cmd/nsbench/EXPERIMENTS.md:
//
//	go test -run '^$' -bench Async -benchmem -cpu 1,2 ./script
func BenchmarkAsync(b *testing.B) {
	ctx := context.Background()
	trivial := loadTestRuleset(&testing.T{}, Options{}, "testdata/trivial.lua")
	b.Cleanup(trivial.Close)
	forward := loadTestRuleset(&testing.T{}, Options{}, "testdata/forward.lua")
	b.Cleanup(forward.Close)
	wake := make(wakeReceiver, 1)
	async := func(b *testing.B, e *Engine, req *route.Request, want route.Verdict) {
		p, ok := e.RouteAsync(req, wake)
		if !ok {
			b.Fatal("RouteAsync refused")
		}
		a := <-wake
		p.Release()
		if a.err != nil || a.d.Verdict != want {
			b.Fatalf("%v %v %q", a.err, a.d.Verdict, a.d.Reason)
		}
	}
	b.Run("route", func(b *testing.B) {
		req := &route.Request{Callback: route.Resolve, Addr: "example.com:443"}
		b.ReportAllocs()
		for b.Loop() {
			if d, err := trivial.Route(ctx, req); err != nil || d.Verdict != route.Forward {
				b.Fatalf("%v %v %q", err, d.Verdict, d.Reason)
			}
		}
	})
	b.Run("async", func(b *testing.B) {
		req := &route.Request{Callback: route.Resolve, Addr: "example.com:443"}
		b.ReportAllocs()
		for b.Loop() {
			async(b, trivial.Engine, req, route.Forward)
		}
	})
	b.Run("forward/dial", func(b *testing.B) {
		conn := sharedConn{}
		req := &route.Request{Callback: route.Resolve, Addr: "example.com:443",
			Dial: func(context.Context, string, route.Chain) (net.Conn, error) { return conn, nil }}
		b.ReportAllocs()
		for b.Loop() {
			d, err := forward.Route(ctx, req)
			if err != nil || d.Verdict != route.Committed {
				b.Fatalf("%v %v %q", err, d.Verdict, d.Reason)
			}
		}
	})
	b.Run("forward/connect", func(b *testing.B) {
		loop := make(loopConnector, 1)
		go loop.run()
		defer close(loop)
		req := &route.Request{Callback: route.Resolve, Addr: "example.com:443", Connect: loop}
		b.ReportAllocs()
		for b.Loop() {
			async(b, forward.Engine, req, route.Committed)
		}
	})
}
