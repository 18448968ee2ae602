package script

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

func benchRoute(b *testing.B, path string, budget time.Duration, addrs []string) {
	te := loadTestRuleset(&testing.T{}, Options{Budget: budget}, path)
	b.Cleanup(te.Close)
	b.SetParallelism(8) // many concurrent clients per core
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		req := &route.Request{Callback: route.Resolve}
		i := 0
		for pb.Next() {
			req.Addr = addrs[i%len(addrs)]
			i++
			d, err := te.Route(ctx, req)
			if err != nil || (d.Verdict != route.Forward && d.Verdict != route.Reject) {
				b.Errorf("%v %v %q", err, d.Verdict, d.Reason)
				return
			}
		}
	})
}

func BenchmarkRouteTrivial(b *testing.B) {
	addrs := []string{"example.com:443"}
	b.Run("watchdog", func(b *testing.B) { benchRoute(b, "testdata/trivial.lua", 0, addrs) })
	b.Run("nowatchdog", func(b *testing.B) { benchRoute(b, "testdata/trivial.lua", -1, addrs) })
}

// BenchmarkRouteForward measures a decision made with await.forward: the
// routine yields while a dial (here an in-memory pipe) runs, then commits.
func BenchmarkRouteForward(b *testing.B) { benchForward(b, "testdata/forward.lua") }

// BenchmarkRouteForwardInPCall is BenchmarkRouteForward with the await
// inside pcall: the yield passes through a protected call's body.
func BenchmarkRouteForwardInPCall(b *testing.B) { benchForward(b, "testdata/forward_pcall.lua") }

func benchForward(b *testing.B, path string) {
	te := loadTestRuleset(&testing.T{}, Options{}, path)
	b.Cleanup(te.Close)
	b.SetParallelism(8)
	b.ReportAllocs()
	dial := func(context.Context, string, route.Chain) (net.Conn, error) {
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		req := &route.Request{Callback: route.Resolve, Addr: "example.com:443", Dial: dial}
		for pb.Next() {
			d, err := te.Route(ctx, req)
			if err != nil || d.Verdict != route.Committed {
				b.Errorf("%v %v %q", err, d.Verdict, d.Reason)
				return
			}
			d.Conn.Close()
		}
	})
}

func BenchmarkRouteTable(b *testing.B) {
	var addrs []string
	for i := range 64 {
		switch i % 4 {
		case 0:
			addrs = append(addrs, fmt.Sprintf("host%d.example:443", i*7))
		case 1:
			addrs = append(addrs, fmt.Sprintf("svc%d.corp.example:80", i))
		case 2:
			addrs = append(addrs, fmt.Sprintf("ads.site%d.com:443", i))
		default:
			addrs = append(addrs, fmt.Sprintf("www.site%d.com:443", i))
		}
	}
	b.Run("watchdog", func(b *testing.B) { benchRoute(b, "testdata/table.lua", 0, addrs) })
	b.Run("nowatchdog", func(b *testing.B) { benchRoute(b, "testdata/table.lua", -1, addrs) })
}

// BenchmarkVMTable measures the routing code alone on the owner, without
// channels: the watchdog's per-instruction poll is the only difference.
func BenchmarkVMTable(b *testing.B) {
	for _, wd := range []struct {
		name   string
		budget time.Duration
	}{{"watchdog", 0}, {"nowatchdog", -1}} {
		b.Run(wd.name, func(b *testing.B) {
			te := loadTestRuleset(&testing.T{}, Options{Budget: wd.budget}, "testdata/table.lua")
			b.Cleanup(te.Close)
			b.ReportAllocs()
			var fn lua.LValue
			_ = te.do(context.Background(), func(v *vm) { fn, _ = v.hook("resolve") })
			args := []lua.LValue{lua.LString("host7.example:443"), lua.LString("svc1.corp.example:80"), lua.LString("www.site3.com:443")}
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				// batches keep each entry far below the budget
				_ = te.do(context.Background(), func(v *vm) {
					for j := i; j < min(i+1000, b.N); j++ {
						if _, err := v.callMain(fn, 1, args[j%3]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
		})
	}
}

// BenchmarkPCall measures the daemon's pcall and xpcall, with and without
// a caught error, made by the main thread in batches of 1000 (each batch
// one owner entry, far below the budget).
func BenchmarkPCall(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"ok", "local n = ... local f = function(a) return a end for i = 1, n do pcall(f, i) end"},
		{"error", "local n = ... local f = function() error('x') end for i = 1, n do pcall(f) end"},
		{"xpcall_ok", "local n = ... local f = function(a) return a end local h = function(m) return m end for i = 1, n do xpcall(f, h, i) end"},
		{"xpcall_error", "local n = ... local f = function() error('x') end local h = function(m) return m end for i = 1, n do xpcall(f, h) end"},
	} {
		b.Run(c.name, func(b *testing.B) {
			te := loadTestRuleset(&testing.T{}, Options{}, "testdata/trivial.lua")
			b.Cleanup(te.Close)
			var fn *lua.LFunction
			_ = te.do(context.Background(), func(v *vm) { fn, _ = compile(v.L, []byte(c.src), "=bench") })
			if fn == nil {
				b.Fatal("the benchmark chunk does not compile")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				_ = te.do(context.Background(), func(v *vm) {
					if _, err := v.callMain(fn, 0, lua.LNumber(min(1000, b.N-i))); err != nil {
						b.Error(err)
					}
				})
			}
		})
	}
}

// BenchmarkHop prices the hop to the owner goroutine against the Lua work
// of one decision (issue 15's Lua path experiments, cmd/nsbench/
// EXPERIMENTS.md): route is one decision through Engine.Route from one
// caller, as a proxy session makes it; noop is a task that does nothing
// through the same inbox and answer; owner is the same decision as route
// started on the owner itself, in batches of 1000 per entry, so neither
// the hop nor the entry's bookkeeping is in it. route − owner is what the
// hop costs a decision. Run it at the daemon's GOMAXPROCS and at 2:
//
//	go test -run '^$' -bench Hop -benchmem -cpu 1,2 ./script
func BenchmarkHop(b *testing.B) {
	te := loadTestRuleset(&testing.T{}, Options{}, "testdata/trivial.lua")
	b.Cleanup(te.Close)
	ctx := context.Background()
	req := &route.Request{Callback: route.Resolve, Addr: "example.com:443"}
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d, err := te.Route(ctx, req); err != nil || d.Verdict != route.Forward {
				b.Fatalf("%v %v %q", err, d.Verdict, d.Reason)
			}
		}
	})
	b.Run("noop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := te.do(ctx, func(*vm) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("owner", func(b *testing.B) {
		b.ReportAllocs()
		onOwner(b, te.Engine, func(v *vm) {
			if d := v.decideHere(ctx, req); d.Verdict != route.Forward {
				b.Fatalf("%v %q", d.Verdict, d.Reason)
			}
		})
	})
}

// onOwner runs f b.N times on the owner, 1000 runs per entry (far below
// the budget).
func onOwner(b *testing.B, e *Engine, f func(v *vm)) {
	b.Helper()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		err := e.do(context.Background(), func(v *vm) {
			for range min(1000, b.N-i) {
				f(v)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// decideHere makes the decision of req on the owner through the request
// path (a pooled routine), as Route's task does, and returns it; the
// callback must not yield.
func (v *vm) decideHere(ctx context.Context, req *route.Request) route.Decision {
	c := newRouteCall(ctx, req)
	defer c.release()
	v.startRequest(c)
	select {
	case <-c.done:
		return c.d
	default:
		return errDecision("the callback yielded")
	}
}

// BenchmarkRequestStart prices starting a request's callback on the owner
// three ways, on the trivial ruleset: routine is the request path (a
// pooled coroutine, the trampoline, deliver, the decision); fresh is the
// same with a new thread for every request instead of a pooled one;
// pcall calls ruleset.resolve with a plain protected call on the main
// thread and maps its results, what a direct call of a callback that
// cannot yield would cost.
//
//	go test -run '^$' -bench RequestStart -benchmem ./script
func BenchmarkRequestStart(b *testing.B) {
	ctx := context.Background()
	req := &route.Request{Callback: route.Resolve, Addr: "example.com:443"}
	for _, path := range []string{"testdata/trivial.lua", "testdata/table.lua"} {
		te := loadTestRuleset(&testing.T{}, Options{}, path)
		b.Cleanup(te.Close)
		name := strings.TrimSuffix(filepath.Base(path), ".lua")
		b.Run(name+"/routine", func(b *testing.B) {
			b.ReportAllocs()
			onOwner(b, te.Engine, func(v *vm) {
				if d := v.decideHere(ctx, req); d.Verdict == route.Error {
					b.Fatal(d.Reason)
				}
			})
		})
		b.Run(name+"/fresh", func(b *testing.B) {
			b.ReportAllocs()
			onOwner(b, te.Engine, func(v *vm) {
				v.pool = v.pool[:0]
				if d := v.decideHere(ctx, req); d.Verdict == route.Error {
					b.Fatal(d.Reason)
				}
			})
		})
		b.Run(name+"/pcall", func(b *testing.B) {
			var fn lua.LValue
			if err := te.do(ctx, func(v *vm) { fn, _ = v.hook("resolve") }); err != nil || fn == nil {
				b.Fatal("no ruleset.resolve", err)
			}
			arg := lua.LString(req.Addr)
			b.ReportAllocs()
			onOwner(b, te.Engine, func(v *vm) {
				rets, lerr := v.callMain(fn, lua.MultRet, arg, lua.LNil, lua.LNil)
				if lerr != nil {
					b.Fatal(errorText(lerr))
				}
				if d := decide(rets); d.Verdict == route.Error {
					b.Fatal(d.Reason)
				}
			})
		})
	}
}
