package script

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestSharedFuture has n routines wait on one future of libruleset's
// async, each of them itself awaited by the calling routine, and checks
// that every waiter, an early and a late one, sees the same results or
// the same error value.
func TestSharedFuture(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/boot/libruleset.lua")
	const code = `local n, fails = %d, %t
local errv = {}
local f = async(function()
	await.sleep(0)
	if fails then error(errv, 0) end
	return "v", nil, 7
end)
local function check(...)
	local k, ok, a, b, c = select("#", ...), ...
	if fails then
		return k == 2 and ok == false and rawequal(a, errv)
	end
	return k == 4 and ok == true and a == "v" and b == nil and c == 7
end
local waiters = {}
for i = 1, n do
	waiters[i] = async(function() return check(f:get()) end)
end
local good = 0
for i = 1, n do
	local ok, same = waiters[i]:get()
	if ok and same then good = good + 1 end
end
local late = async(function() return check(f:get()) end)
local ok, same = late:get()
return good, check(f:get()), ok and same`
	for _, n := range []int{1, 2, 100} {
		for _, fails := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d waiters, error %t", n, fails), func(t *testing.T) {
				// the bound only turns a waiter that is never woken into a failure
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				body, err := te.RPCall(ctx, []byte(fmt.Sprintf(code, n, fails)))
				if err != nil {
					t.Fatalf("rpcall: %v\n%s", err, te.log.String())
				}
				want := fmt.Sprintf("true,%d,true,true", n)
				if got := strings.TrimPrefix(string(body), "return "); got != want {
					t.Fatalf("got %s, want %s", got, want)
				}
			})
		}
	}
}

// TestSharedFutureAwaitedByRequests has 100 request callbacks wait on one
// future started on the main thread (by /ruleset/invoke), which finishes
// only once all of them wait; each decides with the future's result.
func TestSharedFutureAwaitedByRequests(t *testing.T) {
	const n = 100
	te := loadTestRuleset(t, Options{}, "testdata/boot/libruleset.lua")
	te.invoke(t, `_G.waiting, _G.open = 0, false
_G.shared = async(function()
	while not _G.open do await.sleep(0.001) end
	return "127.0.0.1:7"
end)
_G.ruleset.resolve = function(addr)
	_G.waiting = _G.waiting + 1
	local ok, target = _G.shared:get()
	return ok and target
end`)
	results := make(chan route.Decision, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, _ := te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "shared.test:80"})
			results <- d
		}()
	}
	// bounded: every callback reaches get() well within the deadline
	for deadline := time.Now().Add(10 * time.Second); te.Invoke(context.Background(), []byte(`assert(_G.waiting == 100)`)) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the callbacks did not all reach get()")
		}
	}
	te.invoke(t, `_G.open = true`)
	for range n {
		if d := <-results; d.Verdict != route.Forward || d.Target != "127.0.0.1:7" {
			t.Fatalf("decision %v %q %q", d.Verdict, d.Target, d.Reason)
		}
	}
}
