package script

import (
	"context"
	"fmt"
	"net"
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
