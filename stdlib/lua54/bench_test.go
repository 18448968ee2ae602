package lua54

import (
	"os"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// rulesetSource is about 30 KB of ruleset-style Lua: the shipped
// libruleset.lua padded with generated rules.
func rulesetSource(b *testing.B) []byte {
	b.Helper()
	src, err := os.ReadFile("../lua/libruleset.lua")
	if err != nil {
		b.Skip("libruleset.lua not present")
	}
	var sb strings.Builder
	sb.WriteString("local rules = {}\n")
	for sb.Len()+len(src) < 30*1024 {
		sb.WriteString("rules[#rules + 1] = function(ip) return ip & ~((1 << 8) - 1) == 0xC0A80100 or ip // 2 > 7 end\n")
	}
	sb.Write(src)
	return []byte(sb.String())
}

// BenchmarkParseCompile30KB: lex, parse and compile a 30 KB ruleset.
func BenchmarkParseCompile30KB(b *testing.B) {
	src := rulesetSource(b)
	L := lua.NewState()
	defer L.Close()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(L, src, "=ruleset"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBitwiseOp: cost of one lowered operator call (a ~ i inside a
// Lua loop; the loop overhead is included).
func BenchmarkBitwiseOp(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local n = ... local x = 0 for i = 1, n do x = x ~ i end return x"), "=bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCompareOp: cost of one ordering comparison of plain numbers
// (c < i inside a Lua loop; the loop overhead is included). Since exact
// integers, < <= > >= are lowered to a native helper.
func BenchmarkCompareOp(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local n = ... local c = 0 for i = 1, n do if c < i then c = c + 1 end end return c"), "=bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBigIntAdd: + on a boxed integer (a metamethod call and an
// interning lookup per operation).
func BenchmarkBigIntAdd(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local n = ... local x = 1 << 60 for i = 1, n do x = x + 1 end return x"), "=bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}
