package stdlib

import (
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// domainList returns n distinct domains of two or three labels.
func domainList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("host%d.zone%d.example", i, i%97)
	}
	return out
}

func BenchmarkMatchDomain(b *testing.B) {
	for _, n := range []int{10, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			L := newTestState(b)
			list := L.NewTable()
			for _, d := range domainList(n) {
				list.Append(lua.LString(d))
			}
			L.SetGlobal("domains", list)
			if err := L.DoString(`require "libruleset"; m = match.domain(domains)`); err != nil {
				b.Fatal(err)
			}
			m := L.GetGlobal("m")
			hit := lua.LString(fmt.Sprintf("www.HOST%d.zone%d.example:443", n-1, (n-1)%97))
			miss := lua.LString("www.unlisted.example.org:443")
			p := lua.P{Fn: m, NRet: 1}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				addr := hit
				if i&1 == 1 {
					addr = miss
				}
				if err := L.CallByParam(p, addr); err != nil {
					b.Fatal(err)
				}
				if (L.Get(-1) == lua.LTrue) != (i&1 == 0) {
					b.Fatalf("wrong result for %s", addr)
				}
				L.Pop(1)
			}
		})
	}
}

// BenchmarkDecideResolve runs ruleset.decide.resolve through the
// ruleset_simple-style tables of testdata for a name that falls through
// every table to the tagged default, and for one decided by redirect_name.
func BenchmarkDecideResolve(b *testing.B) {
	for _, tc := range []struct{ name, addr, want string }{
		{"default", "www.example.com:443", "www.example.com:443"},
		{"redirect_name", "server.lan:22", "127.0.0.1:22"},
		{"hosts+route", "site1.lan:80", "192.168.1.100:80"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			L := newTestState(b)
			if err := L.DoString(`_G.ruleset = dofile("testdata/ruleset_simple.lua")
				decide = ruleset.decide.resolve`); err != nil {
				b.Fatal(err)
			}
			p := lua.P{Fn: L.GetGlobal("decide"), NRet: 1}
			addr := lua.LString(tc.addr)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := L.CallByParam(p, addr); err != nil {
					b.Fatal(err)
				}
				if got := L.Get(-1); got.String() != tc.want {
					b.Fatalf("decision %v", got)
				}
				L.Pop(1)
			}
		})
	}
}

// bigTable returns a Lua table whose marshalled form is about 1 MiB.
func bigTable(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	row := strings.Repeat("x", 40)
	for i := 0; i < 14000; i++ {
		item := L.CreateTable(3, 1)
		item.Append(lua.LNumber(i))
		item.Append(lua.LString(row))
		item.Append(lua.LNumber(float64(i) + 0.5))
		item.RawSetString("ok", lua.LBool(i%2 == 0))
		t.Append(item)
	}
	return t
}

func BenchmarkMarshal1MiB(b *testing.B) {
	L := newTestState(b)
	t := bigTable(L)
	s, err := Marshal(L, t)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(s)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Marshal(L, t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal1MiB(b *testing.B) {
	L := newTestState(b)
	if err := L.DoString(`require "libruleset"`); err != nil {
		b.Fatal(err)
	}
	s, err := Marshal(L, bigTable(L))
	if err != nil {
		b.Fatal(err)
	}
	p := lua.P{Fn: L.GetGlobal("unmarshal"), NRet: 1}
	b.SetBytes(int64(len(s)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := L.CallByParam(p, lua.LString(s)); err != nil {
			b.Fatal(err)
		}
		if t, ok := L.Get(-1).(*lua.LTable); !ok || t.Len() != 14000 {
			b.Fatalf("unmarshal returned %v", L.Get(-1))
		}
		L.Pop(1)
	}
}
