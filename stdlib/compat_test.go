package stdlib

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func newCompatState(t *testing.T) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	OpenCompat(L)
	return L
}

func runCompat(t *testing.T, L *lua.LState, src, name string) {
	t.Helper()
	fn, err := LoadFileSource(L, src, name)
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, lua.MultRet, nil); err != nil {
		t.Fatal(err)
	}
}

// LoadFileSource is a test helper: Load through the same front end.
func LoadFileSource(L *lua.LState, src, name string) (*lua.LFunction, error) {
	fn := L.GetGlobal("load")
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 2, Protect: true}, lua.LString(src), lua.LString(name)); err != nil {
		return nil, err
	}
	f, msg := L.Get(-2), L.Get(-1)
	L.Pop(2)
	if lf, ok := f.(*lua.LFunction); ok {
		return lf, nil
	}
	return nil, &lua.ApiError{Type: lua.ApiErrorSyntax, Object: msg}
}

func TestCompatAssertions(t *testing.T) {
	src, err := os.ReadFile("testdata/compat_test.lua")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("gopher", func(t *testing.T) {
		L := newCompatState(t)
		runCompat(t, L, string(src), "@compat_test.lua")
	})
	t.Run("lua5.4", func(t *testing.T) {
		bin, err := exec.LookPath("lua5.4")
		if err != nil {
			t.Skip("lua5.4 not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "testdata/compat_test.lua").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "compat ok") {
			t.Fatalf("lua5.4: %v\n%s", err, out)
		}
	})
}

// TestCompatCarrier pins the documented float-carrier behaviour.
func TestCompatCarrier(t *testing.T) {
	L := newCompatState(t)
	runCompat(t, L, `
		assert(math.type(1.0) == "integer", "integral floats report integer")
		assert(math.type(2^63) == "float")
		assert(math.maxinteger == 0x7fffffffffffffff and math.maxinteger + 1 == math.mininteger, "exact maxinteger")
		assert(math.maxinteger ~= 2^63 and math.maxinteger < 2^63, "compared exactly with floats")
		assert(not pcall(debug.setmetatable, 1 << 60, {}), "boxed integers are shared: their metatable is fixed")
		assert((1 << 60) + 1 == 1152921504606846977, "metamethods intact")
		assert(getmetatable(1 << 60) == false, "protected")
		assert(tostring(10 // 2) == "5")
		assert(string.format("%q", 2.0) == "2")
	`, "=carrier")
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	full := gz(t, "return 6 & 3")
	tests := []struct {
		name    string
		data    []byte
		want    string // tostring of the first result
		wantErr string
	}{
		{name: "plain", data: []byte("return 1 << 3"), want: "8"},
		{name: "gzip", data: full, want: "2"},
		{name: "gzip truncated", data: full[:len(full)-6], wantErr: "truncated gzip data"},
		{name: "utf8 bom", data: []byte("\xEF\xBB\xBFreturn 'bom'"), want: "bom"},
		{name: "utf16 bom", data: []byte("\xFF\xFEr\x00"), wantErr: "UTF-16"},
		{name: "utf32 bom", data: []byte("\x00\x00\xFE\xFFr"), wantErr: "UTF-32"},
		{name: "shebang", data: []byte("#!/usr/bin/env lua\nreturn 7 // 2"), want: "3"},
		{name: "hash line keeps line numbers", data: []byte("# comment\nlocal x =\n"), wantErr: ":3: unexpected symbol near <eof>"},
		{name: "binary", data: []byte("\x1bLua\x54"), wantErr: "attempt to load a binary chunk (mode is 't')"},
		{name: "syntax error", data: []byte("x = = 1"), wantErr: "syntax error.lua:1: unexpected symbol near '='"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			L := newCompatState(t)
			p := writeFile(t, dir, tc.name+".lua", tc.data)
			fn, err := LoadFile(L, p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			L.Push(fn)
			if err := L.PCall(0, 1, nil); err != nil {
				t.Fatal(err)
			}
			if got := L.Get(-1).String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		L := newCompatState(t)
		_, err := LoadFile(L, filepath.Join(dir, "nope.lua"))
		if err == nil || !strings.Contains(err.Error(), "No such file or directory") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRequireAndFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "mod/sub.lua", []byte(`local name, path = ...
return {name = name, path = path, v = 1 << 5}`))
	writeFile(t, dir, "data.lua", []byte("return 5 // 2, ...\n"))
	writeFile(t, dir, "bad.lua", []byte("return 1 +\n"))
	L := newCompatState(t)
	L.SetGlobal("DIR", lua.LString(dir))
	runCompat(t, L, `
		package.path = DIR .. "/?.lua"
		local m = require "mod.sub"
		assert(m.v == 32, "module value")
		assert(m.name == "mod.sub", "module name passed: " .. tostring(m.name))
		assert(m.path == DIR .. "/mod/sub.lua", "module path passed: " .. tostring(m.path))
		assert(require "mod.sub" == m, "cached")
		local ok, err = pcall(require, "nope.x")
		assert(not ok and err:find("no file '" .. DIR .. "/nope/x.lua'", 1, true), err)
		local ok2, err2 = pcall(require, "bad")
		assert(not ok2 and err2:find("bad.lua:2: unexpected symbol near <eof>", 1, true), err2)
		assert(package.searchpath("mod.sub", package.path) == DIR .. "/mod/sub.lua")
		assert(dofile(DIR .. "/data.lua") == 2)
		local f = assert(loadfile(DIR .. "/data.lua"))
		local a, b = f("arg")
		assert(a == 2 and b == "arg")
		local g = assert(loadfile(DIR .. "/data.lua", "t", {}))
		assert(g() == 2)
		local nf, msg = loadfile(DIR .. "/bad.lua")
		assert(nf == nil and msg:find("bad.lua:2:", 1, true), msg)
		assert(package.searchers == package.loaders)
		local info = assert(load("return debug.getinfo(1, 'Sl')", "@dir/x.lua"))()
		assert(info.source == "@dir/x.lua", info.source)
		assert(info.short_src == "dir/x.lua", info.short_src)
		assert(info.currentline == 1, info.currentline)
		local info2 = load("\n\nreturn debug.getinfo(1, 'Sl')", "=ruleset")()
		assert(info2.source == "=ruleset" and info2.short_src == "ruleset" and info2.currentline == 3)
		assert(debug.getinfo(print).short_src == "[C]")
	`, "=require")
}

// TestPCallSemantics runs testdata/pcall_test.lua (results, error values,
// handlers and arguments of pcall and xpcall) here and, when installed, on
// Lua 5.4, which must agree.
func TestPCallSemantics(t *testing.T) {
	L := newTestState(t)
	if n := runLuaFile(t, L, "testdata/pcall_test.lua"); n < 20 {
		t.Errorf("only %d assertions", n)
	}
	lua54, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lua54, "testdata/lua54_host.lua", "testdata/pcall_test.lua").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " assertions") {
		t.Fatalf("lua5.4 pcall_test.lua: %v\n%s", err, out)
	}
}

// BenchmarkPCall measures pcall and xpcall with and without a caught error.
func BenchmarkPCall(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"ok", "local f = function(a) return a end for i = 1, N do pcall(f, i) end"},
		{"error", "local f = function() error('x') end for i = 1, N do pcall(f) end"},
		{"xpcall_ok", "local f = function(a) return a end local h = function(m) return m end for i = 1, N do xpcall(f, h, i) end"},
		{"xpcall_error", "local f = function() error('x') end local h = function(m) return m end for i = 1, N do xpcall(f, h) end"},
	} {
		b.Run(c.name, func(b *testing.B) {
			L := newTestState(b)
			fn, err := L.LoadString(c.src)
			if err != nil {
				b.Fatal(err)
			}
			L.SetGlobal("N", lua.LNumber(b.N))
			b.ResetTimer()
			L.Push(fn)
			if err := L.PCall(0, 0, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}
