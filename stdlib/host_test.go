package stdlib

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestOpenHostInstallsTheHost checks that the host layer works through
// the Host it is given: protected calls take their body threads from
// Acquire and give them back to Release (reusable only when the body
// returned), a body works for its caller's thread, print writes to Stdout,
// and an aborted entry skips xpcall's handler.
func TestOpenHostInstallsTheHost(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	var (
		out              strings.Builder
		pool             []*lua.LState
		acquired, reused int
		dropped, aborted bool
	)
	pc := OpenHost(L, Host{
		Stdout: &out,
		Acquire: func() *lua.LState {
			acquired++
			if n := len(pool); n > 0 {
				th := pool[n-1]
				pool = pool[:n-1]
				th.Dead = false
				return th
			}
			th, cancel := L.NewThread()
			if cancel != nil {
				cancel()
			}
			return th
		},
		Release: func(th *lua.LState, reusable bool) {
			if reusable {
				reused++
				pool = append(pool, th)
			} else {
				dropped = true
			}
		},
		Aborted: func() bool { return aborted },
	})
	L.SetGlobal("probe", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(L != L.G.MainThread && pc.Logical(L) == L.G.MainThread && pc.IsMain(L)))
		return 1
	}))
	L.SetGlobal("abort", L.NewFunction(func(L *lua.LState) int {
		aborted = true
		return 0
	}))
	err := L.DoString(`
		local ok, e = pcall(error, "boom")
		assert(not ok and e == "boom", e)
		assert(select(2, pcall(probe)), "a body works for the main thread")
		assert(pcall(function() end))
		local ok2, e2 = xpcall(function() error({}) end, function(m) return "handled" end)
		assert(not ok2 and e2 == "handled", e2)
		print("out", 1)
		abort()
		local ok3, e3 = xpcall(error, function(m) return "handled" end, "raw", 0)
		assert(not ok3 and e3 == "raw", e3)
	`)
	if err != nil {
		t.Fatal(err)
	}
	if acquired != 5 || reused != 2 || !dropped {
		t.Errorf("acquired %d threads, gave back %d reusable (and a failed one: %v); want 5, 2, true", acquired, reused, dropped)
	}
	if got := out.String(); got != "out\t1\n" {
		t.Errorf("printed %q, want %q", got, "out\t1\n")
	}
}

// TestTrimHelperPosition checks which error values lose the position of
// the protected-call helpers.
func TestTrimHelperPosition(t *testing.T) {
	for _, tc := range []struct {
		in   lua.LValue
		want lua.LValue
	}{
		{lua.LString(helperChunk + ":3: bad argument #1"), lua.LString("bad argument #1")},
		{lua.LString(helperChunk + ": no line"), lua.LString(helperChunk + ": no line")},
		{lua.LString(helperChunk + ":12:no space"), lua.LString(helperChunk + ":12:no space")},
		{lua.LString("rules.lua:3: x"), lua.LString("rules.lua:3: x")},
		{lua.LNumber(3), lua.LNumber(3)},
	} {
		if got := trimHelperPosition(tc.in); got != tc.want {
			t.Errorf("trimHelperPosition(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestBodyThreadsGrow checks that the body threads of the zero Host,
// which start with small stacks, grow to the limits of the state's own
// (lua.NewState's defaults: 5120 value slots, 256 call frames).
func TestBodyThreadsGrow(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Open(L)
	err := L.DoString(`
		local t = {}
		for i = 1, 1000 do t[i] = i end
		local ok, n = pcall(function(...) return select("#", ...) end, table.unpack(t))
		assert(ok and n == 1000, tostring(n))
		local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
		local ok2, d = pcall(depth, 200)
		assert(ok2 and d == 200, tostring(d))
	`)
	if err != nil {
		t.Fatal(err)
	}
}
