package script

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

// TestNativeCallsWithinBudget routes requests whose callback spends its
// time inside one native function (testdata/native.lua). Without the
// functions' own polling each would run for minutes or exhaust memory;
// with it each is rejected with the budget error, and the next request is
// served. The time to rejection is logged against the budget, not asserted.
func TestNativeCallsWithinBudget(t *testing.T) {
	const budget = time.Second // the daemon's
	te := loadTestRuleset(t, Options{Budget: budget}, "testdata/native.lua")
	tests := []struct {
		name    string
		fits    bool                          // finishes within the budget now
		prepare func(*testing.T, *testEngine) // before the request
		// budget, when set, replaces the daemon's for this case: 64 MiB
		// (string.rep's cap) of noise may deflate in about a second on a
		// fast idle machine, so those cases get a quarter of it
		budget time.Duration
	}{
		{name: "find"},
		{name: "match"},
		{name: "gmatch"},
		{name: "gsub"},
		{name: "gsubmany", fits: true},
		{name: "regex"},
		{name: "sort", prepare: setBigTable},
		{name: "marshal"},
		{name: "compress", budget: budget / 4},
		{name: "gzip", budget: budget / 4},
		{name: "gunzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te, limit := te, budget
			if tc.budget != 0 {
				limit = tc.budget
				te = loadTestRuleset(t, Options{Budget: limit}, "testdata/native.lua")
			}
			if tc.prepare != nil {
				tc.prepare(t, te)
			}
			start := time.Now()
			d := routeWithin(t, te.Engine, tc.name+".test:1", 30*time.Second)
			took := time.Since(start)
			if tc.fits {
				if d.Verdict != route.Forward {
					t.Fatalf("decision %v %q, want forward", d.Verdict, d.Reason)
				}
			} else if d.Verdict != route.Error || !strings.Contains(d.Reason, ErrBudget.Error()) {
				t.Fatalf("decision %v %q, want the budget error", d.Verdict, d.Reason)
			}
			t.Logf("%s: answered after %v (%.2f x budget)", tc.name, took.Round(time.Millisecond), float64(took)/float64(limit))
			if d := routeOf(t, te.Engine, route.Resolve, "ok.test:8"); d.Verdict != route.Forward {
				t.Fatalf("next request: %v %q", d.Verdict, d.Reason)
			}
		})
	}
}

// setBigTable sets _G.big to 5 million numbers for table.sort (12.6 s to
// sort unbounded); Go code on the owner makes it, which no budget
// interrupts.
func setBigTable(t *testing.T, te *testEngine) {
	t.Helper()
	if err := te.do(context.Background(), func(v *vm) {
		big := v.L.CreateTable(5<<20, 0)
		for i := 1; i <= 5<<20; i++ {
			big.RawSetInt(i, lua.LNumber(i*7919%1000003))
		}
		v.L.SetGlobal("big", big)
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { te.invoke(t, "_G.big = nil") })
}

// routeWithin routes a resolve request and fails the test when no answer
// comes within limit, a bound far above any budget.
func routeWithin(t *testing.T, e *Engine, addr string, limit time.Duration) route.Decision {
	t.Helper()
	done := make(chan route.Decision, 1)
	go func() {
		d, _ := e.Route(context.Background(), &route.Request{Callback: route.Resolve, Addr: addr})
		done <- d
	}()
	select {
	case d := <-done:
		return d
	case <-time.After(limit):
		t.Fatalf("%s: no answer in %v", addr, limit)
	}
	return route.Decision{}
}
