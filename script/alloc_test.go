package script

import (
	"context"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestRouteAllocations bounds what a decision through Route allocates
// besides the Lua work, for a callback that returns its address: the
// address as a Lua value and gopher-lua's slice of a resume's results.
// The call, its answer channel and its routine come from a pool; the
// decision is mapped without copying the results (cmd/nsbench/
// EXPERIMENTS.md, the Lua path). It was 6 before those changes.
func TestRouteAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	te := loadTestRuleset(t, Options{}, "testdata/trivial.lua")
	ctx := context.Background()
	tests := []struct {
		name string
		req  route.Request
		max  float64
	}{
		{name: "resolve", req: route.Request{Callback: route.Resolve, Addr: "example.com:443"}, max: 2},
		{name: "route", req: route.Request{Callback: route.Route, Addr: "192.0.2.1:80"}, max: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d route.Decision
			var err error
			n := testing.AllocsPerRun(200, func() { d, err = te.Route(ctx, &tc.req) })
			if err != nil || d.Verdict != route.Forward || d.Target != tc.req.Addr {
				t.Fatalf("decision %v %q %q, %v", d.Verdict, d.Target, d.Reason, err)
			}
			if n > tc.max {
				t.Errorf("%.1f allocations per decision, want at most %.0f", n, tc.max)
			}
		})
	}
}
