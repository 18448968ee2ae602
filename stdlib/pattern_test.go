package stdlib

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// patternProbe is Lua (5.1 and 5.4 alike) that runs find, match, gmatch
// and gsub on each case of the global "cases" (pairs of subject and
// pattern) and prints one line per case, the same way under every
// interpreter. Argument errors are reduced to "bad argument": gopher-lua
// words them differently.
const patternProbe = `
local function q(s)
	local t = {}
	for i = 1, #s do t[i] = string.byte(s, i) end
	return "'" .. table.concat(t, ".") .. "'"
end
local function show(ok, ...)
	local t = {}
	if not ok then
		local msg = tostring((...))
		if string.find(msg, "bad argument", 1, true) then msg = "bad argument" end
		local rest = string.match(msg, "^[^:]*:%d+: (.*)$")
		if rest then msg = "(where): " .. rest end
		return "error " .. msg
	end
	for i = 1, select("#", ...) do
		local v = select(i, ...)
		t[i] = type(v) == "string" and q(v) or tostring(v)
	end
	return "(" .. table.concat(t, ",") .. ")"
end
local function gm(s, p, init)
	local out, n = {}, 0
	for a, b, c in string.gmatch(s, p, init) do
		n = n + 1
		out[n] = show(true, a, b, c)
		if n == 20 then break end
	end
	return table.concat(out, ";")
end
local tbl = setmetatable({}, {__index = function(_, k)
	if type(k) == "number" then return k * 2 end
	if k == "" then return false end
	return "<" .. k .. ">"
end})
local function fn(a, b)
	if a == "" then return nil end
	if b then return tostring(b) .. a end
	return "{" .. a .. "}"
end
-- integers beyond 2^53 as subject, pattern, position and replacement
print("big " .. show(pcall(string.find, math.maxinteger, "807")) ..
	show(pcall(string.match, "x" .. math.mininteger, math.mininteger)) ..
	show(pcall(string.find, "abc", "b", math.mininteger)) ..
	show(pcall(string.gsub, "x", "x", math.maxinteger)) ..
	show(pcall(string.gsub, "abc", "%w", {a = math.maxinteger})) ..
	show(pcall(string.gsub, "abc", "%w", function() return math.mininteger end)))
for _, c in ipairs(cases) do
	local s, p = c[1], c[2]
	print(q(s) .. " " .. q(p) ..
		" | find " .. show(pcall(string.find, s, p)) ..
		" find3 " .. show(pcall(string.find, s, p, 3)) ..
		" find-2 " .. show(pcall(string.find, s, p, -2)) ..
		" match " .. show(pcall(string.match, s, p)) ..
		" gmatch " .. show(pcall(gm, s, p)) ..
		" gmatch2 " .. show(pcall(gm, s, p, 2)) ..
		" gsub " .. show(pcall(string.gsub, s, p, "<%0|%1>")) ..
		" gsubpct " .. show(pcall(string.gsub, s, p, "%%")) ..
		" gsub2 " .. show(pcall(string.gsub, s, p, "-", 2)) ..
		" gsubt " .. show(pcall(string.gsub, s, p, tbl)) ..
		" gsubf " .. show(pcall(string.gsub, s, p, fn)))
end
`

// patternCases returns hand-picked cases and generated ones: random
// patterns built from every kind of pattern item, some malformed, on
// subjects drawn from the bytes those items care about.
func patternCases() [][2]string {
	cases := [][2]string{
		{"hello world", "o w"},
		{"hello world", "(o)(r)"},
		{"hello", "()ll()"},
		{"hello", "l+"},
		{"hello", "l-"},
		{"hello", "l*"},
		{"hello", "^h"},
		{"hello", "^e"},
		{"hello", "o$"},
		{"hello", "$"},
		{"hello", "^"},
		{"he$llo", "e$l"},
		{"a(b(c)d)e", "%b()"},
		{"THE (quick) fox", "%f[%a]%a+"},
		{"THE (quick) fox", "%f[%A]"},
		{"abcabc", "(abc)%1"},
		{"aaa", "()a%1"},
		{"key=value", "(%w+)=(%w+)"},
		{"a,b,,c", "([^,]*)"},
		{"  trim  ", "^%s*(.-)%s*$"},
		{"x", "%"},
		{"x", "[x"},
		{"x", "[^"},
		{"x", "[]"},
		{"]", "[]]"},
		{"x", "%f"},
		{"x", "%fx"},
		{"x", "%b"},
		{"x", "%bx"},
		{"x", "%1"},
		{"x", "(x)%2"},
		{"x", "%0"},
		{"x", "(x%1)"},
		{"x", "x)"},
		{"x", "x)."},
		{"x", "(x"},
		{"x", "(()"},
		{"x", strings.Repeat("(", 33)},
		{strings.Repeat("a", 300), strings.Repeat("a?", 300)},
		{strings.Repeat("a", 300), strings.Repeat("a?", 190)},
		{strings.Repeat("a", 40), strings.Repeat("(a)", 32)},
		{"a\x00b", "%z"},
		{"a\x00b", "a%Z"},
		{"a\x00b", "\x00"},
		{"a\x00b", "[\x00]"},
		{"a.b", "%."},
		{"a.b", "."},
		{"a-b", "[a-]"},
		{"a-b", "[%w-]+"},
		{"a-b", "[b-a]"},
		{"\x80\xff", "[\x80-\xff]+"},
		{"\t\n\v\f\r ", "%s+"},
		{"\x01\x7f", "%c+"},
		{"AbC09_!~", "%g+"},
		{"AbC09_!~", "%p+"},
		{"AbC09_!~", "%x+"},
		{"AbC09_!~", "%u%l%U"},
		{"AbC09_!~", "%W+"},
		{"", ""},
		{"", ".-"},
		{"abc", ""},
		{"abc", "%%"},
		{"a%c", "%%"},
	}
	// items the generator draws from; the last ones are malformed
	items := []string{
		"a", "b", "c", "(", ")", "()", ".", "%a", "%d", "%s", "%w", "%l", "%u",
		"%p", "%x", "%c", "%g", "%A", "%D", "%S", "%W", "[ab]", "[^a]", "[a-c]",
		"[%d_]", "[]]", "[^]a]", "[%a-]", "%b()", "%bab", "%f[%w]", "%f[^a]",
		"%1", "%2", "%%", "%.", "-", "$", "^", "x",
		"%", "[a", "%f", "%b",
	}
	quant := []string{"", "", "", "*", "+", "-", "?"}
	subjectBytes := "aab(c)1 _A.x-%b]"
	r := rand.New(rand.NewPCG(18, 1))
	for range 3000 {
		var p strings.Builder
		if r.IntN(5) == 0 {
			p.WriteByte('^')
		}
		for range 1 + r.IntN(5) {
			it := items[r.IntN(len(items))]
			if r.IntN(10) == 0 {
				it = items[r.IntN(len(items)-4)] // malformed ones stay rare
			}
			p.WriteString(it)
			if len(it) == 1 || it[0] == '[' || (it[0] == '%' && len(it) == 2 && it[1] != 'b' && it[1] != 'f') {
				p.WriteString(quant[r.IntN(len(quant))])
			}
		}
		if r.IntN(6) == 0 {
			p.WriteByte('$')
		}
		var s strings.Builder
		for range r.IntN(14) {
			s.WriteByte(subjectBytes[r.IntN(len(subjectBytes))])
		}
		cases = append(cases, [2]string{s.String(), p.String()})
	}
	return cases
}

// luaCases renders cases as a Lua chunk that sets the global "cases";
// every byte but letters and digits is a decimal escape, which both
// Lua 5.1 and 5.4 read.
func luaCases(cases [][2]string) string {
	lit := func(s string) string {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "\\%03d", c)
			}
		}
		b.WriteByte('"')
		return b.String()
	}
	var b strings.Builder
	b.WriteString("cases = {\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "{%s, %s},\n", lit(c[0]), lit(c[1]))
	}
	b.WriteString("}\n")
	return b.String()
}

// TestPatternsAgainstLua54 runs every case through string.find, match,
// gmatch and gsub here and in the reference interpreter and compares
// the results line by line: positions, captures, counts and error texts.
func TestPatternsAgainstLua54(t *testing.T) {
	bin, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	script := luaCases(patternCases()) + patternProbe
	path := filepath.Join(t.TempDir(), "probe.lua")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := exec.Command(bin, path).Output()
	if err != nil {
		t.Fatalf("lua5.4: %v", err)
	}

	L := newTestState(t)
	var got bytes.Buffer
	compatStdout = &got
	t.Cleanup(func() { compatStdout = os.Stdout })
	if err := L.DoString(script); err != nil {
		t.Fatalf("probe: %v", err)
	}
	flushLuaStdout(L)

	wl := strings.Split(string(want), "\n")
	gl := strings.Split(got.String(), "\n")
	if len(wl) != len(gl) {
		t.Errorf("%d lines from lua5.4, %d here", len(wl), len(gl))
	}
	bad := 0
	for i := range min(len(wl), len(gl)) {
		if wl[i] != gl[i] {
			t.Errorf("case %d:\nlua5.4: %s\nhere:   %s", i, wl[i], gl[i])
			if bad++; bad == 10 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("%d cases compared", len(wl)-1)
}

// BenchmarkPatterns calls the pattern functions from Lua on inputs a
// ruleset sees: a host:port split, a domain suffix test, and the issue's
// gsub of 625 KB with 40 000 matches.
func BenchmarkPatterns(b *testing.B) {
	for _, bc := range []struct{ name, setup, call string }{
		{"match hostport", `s = "www.example.com:443"`, `return string.match(s, "^(.-):(%d+)$")`},
		{"find suffix", `s = "www.example.com"`, `return string.find(s, "%.example%.com$")`},
		{"gmatch labels", `s = "a.bb.ccc.dddd.example.com"`, `local n = 0 for l in string.gmatch(s, "[^.]+") do n = n + 1 end return n`},
		{"gsub 625KB 40000 matches", `s = string.rep("abcdefghijklmno.", 40000)`, `return string.gsub(s, "%.", "/")`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			L := newTestState(b)
			if err := L.DoString(bc.setup); err != nil {
				b.Fatal(err)
			}
			fn, err := L.LoadString(bc.call)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				L.Push(fn)
				if err := L.PCall(0, 0, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
