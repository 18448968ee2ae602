package stdlib

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// newTestState returns a state with every library of this package opened
// and minimal stand-ins for the host's neosocksd.* and await.* tables:
// neosocksd holds the address natives and a config() returning
// {loglevel = 3}; await is empty. Tests replace what they need from Lua.
func newTestState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	Open(L)
	ns := OpenAddr(L)
	L.SetField(ns, "config", L.NewFunction(func(L *lua.LState) int {
		c := L.NewTable()
		c.RawSetString("loglevel", lua.LNumber(3))
		c.RawSetString("auth_required", lua.LFalse)
		L.Push(c)
		return 1
	}))
	L.SetGlobal("neosocksd", ns)
	L.SetGlobal("await", L.NewTable())
	return L
}

// runLuaFile runs a Lua test file; it fails the test on any error and
// returns the file's result (the number of assertions made).
func runLuaFile(t *testing.T, L *lua.LState, path string) int {
	t.Helper()
	fn, err := LoadFile(L, path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n, _ := L.Get(-1).(lua.LNumber)
	L.Pop(1)
	return int(n)
}

func TestLuaFiles(t *testing.T) {
	files := []string{
		"testdata/libruleset_test.lua",
		"testdata/routing_test.lua",
		"testdata/marshal_test.lua",
		"testdata/zlib_test.lua",
		"testdata/time_test.lua",
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			L := newTestState(t)
			n := runLuaFile(t, L, f)
			if n < 10 {
				t.Errorf("%s made only %d assertions", f, n)
			}
			t.Logf("%s: %d assertions", f, n)
		})
	}
}

// TestUpvaluesAfterCaughtError runs testdata/upvalues_test.lua (which
// passes on Lua 5.4, see TestLua54) in this package's runtime. gopher-lua
// v1.1.2 closes every open upvalue of the whole stack when pcall catches an
// error (raiseError → closeAllUpvalues), so closures stop sharing the
// locals of frames that are still running; xpcall (an error handler is set)
// closes none, so a closure escaping an unwound frame reads a reused
// register; and a pcall nested in xpcall turns xpcall back into the pcall
// behaviour.
func TestUpvaluesAfterCaughtError(t *testing.T) {
	L := newTestState(t)
	if n := runLuaFile(t, L, "testdata/upvalues_test.lua"); n < 10 {
		t.Errorf("only %d assertions", n)
	}
}

// TestEmbeddedParse keeps every embedded .lua file valid for gopher-lua's
// Lua 5.1 parser.
func TestEmbeddedParse(t *testing.T) {
	files, err := filepath.Glob("lua/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded Lua files: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parse.Parse(strings.NewReader(string(src)), f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if string(LibrulesetSource()) == "" {
		t.Error("LibrulesetSource is empty")
	}
}

// TestLua54 runs the pure-Lua test files on Debian's lua5.4 against the
// same libruleset.lua, with the pure-Lua stand-ins of lua54_host.lua for
// the Go natives: the framework must decide alike on real Lua 5.4.
func TestLua54(t *testing.T) {
	lua54, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	for _, f := range []string{"libruleset_test.lua", "routing_test.lua", "marshal_test.lua", "upvalues_test.lua"} {
		t.Run(f, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, lua54, "testdata/lua54_host.lua", "testdata/"+f).CombinedOutput()
			if err != nil {
				t.Fatalf("lua5.4 %s: %v\n%s", f, err, out)
			}
			if !strings.Contains(string(out), f+": ") || !strings.Contains(string(out), " assertions") {
				t.Fatalf("lua5.4 %s: unexpected output\n%s", f, out)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}
