package stdlib

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// recordingHost is a Host that notes which of its functions Lua called,
// on top of the synchronous host.
type recordingHost struct {
	Host
	calls   []string
	printed []string
}

func (h *recordingHost) ProtectedCalls(L *lua.LState) (pcall, xpcall *lua.LFunction) {
	p, xp := h.Host.ProtectedCalls(L)
	note := func(name string, fn *lua.LFunction) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			h.calls = append(h.calls, name)
			top := L.GetTop()
			L.Insert(fn, 1)
			L.Call(top, lua.MultRet)
			return L.GetTop()
		})
	}
	return note("pcall", p), note("xpcall", xp)
}

func (h *recordingHost) Running(L *lua.LState) int {
	h.calls = append(h.calls, "running")
	return h.Host.Running(L)
}

func (h *recordingHost) IsYieldable(L *lua.LState) int {
	h.calls = append(h.calls, "isyieldable")
	return h.Host.IsYieldable(L)
}

func (h *recordingHost) Yield(L *lua.LState) int {
	h.calls = append(h.calls, "yield")
	return h.Host.Yield(L)
}

func (h *recordingHost) Print(L *lua.LState) int {
	h.printed = append(h.printed, L.ToStringMeta(L.Get(1)).String())
	return 0
}

// TestOpenHostInstallsTheHost checks that the functions of the host given
// to OpenHost are the ones Lua calls, and that the synchronous host's
// protected calls behave as before underneath.
func TestOpenHostInstallsTheHost(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	h := &recordingHost{Host: NewSyncHost(L)}
	OpenHost(L, h)
	err := L.DoString(`
		local ok, e = pcall(error, "boom")
		assert(not ok and e == "boom", e)
		local ok2, e2 = xpcall(function() error({}) end, function(m) return "handled" end)
		assert(not ok2 and e2 == "handled", e2)
		local co = coroutine.create(function()
			assert(coroutine.isyieldable())
			local r, main = coroutine.running()
			assert(not main)
			coroutine.yield(1)
		end)
		assert(coroutine.resume(co))
		print("out")
	`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(h.calls, " "), "pcall xpcall isyieldable running yield"; got != want {
		t.Errorf("host calls %q, want %q", got, want)
	}
	if len(h.printed) != 1 || h.printed[0] != "out" {
		t.Errorf("printed %q, want [out]", h.printed)
	}
}

// TestTrimHelperPosition checks which error values lose the position of
// the protected-call helpers.
func TestTrimHelperPosition(t *testing.T) {
	for _, tc := range []struct {
		in   lua.LValue
		want lua.LValue
	}{
		{lua.LString(HelperChunk + ":3: bad argument #1"), lua.LString("bad argument #1")},
		{lua.LString(HelperChunk + ": no line"), lua.LString(HelperChunk + ": no line")},
		{lua.LString(HelperChunk + ":12:no space"), lua.LString(HelperChunk + ":12:no space")},
		{lua.LString("rules.lua:3: x"), lua.LString("rules.lua:3: x")},
		{lua.LNumber(3), lua.LNumber(3)},
	} {
		if got := TrimHelperPosition(tc.in); got != tc.want {
			t.Errorf("TrimHelperPosition(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
