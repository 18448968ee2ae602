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
