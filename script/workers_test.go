package script

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestForwardReusesGoroutines routes requests one after another through a
// callback that dials with await.forward, as libruleset's do: the dials
// run on parked op workers, so the requests start no goroutine (with a
// goroutine per operation, each starts one and grows its fresh stack).
func TestForwardReusesGoroutines(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/forward.lua")
	dial := func(context.Context, string, route.Chain) (net.Conn, error) {
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	}
	forward := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "example.com:443", Dial: dial})
		if err != nil || d.Verdict != route.Committed {
			t.Fatalf("decision %v %q: %v", d.Verdict, d.Reason, err)
		}
		d.Conn.Close()
		// the worker parks after the owner has the dial's result
		testkit.WaitFor(t, "the op worker to park", func() bool { return te.ops.Idle() > 0 })
	}
	forward() // starts the first worker
	const n = 50
	before := testkit.GoroutinesCreated(t)
	for range n {
		forward()
	}
	if started := testkit.GoroutinesCreated(t) - before; started > n/5 {
		t.Errorf("%d goroutines started for %d forwarded requests, want at most %d", started, n, n/5)
	}
}
