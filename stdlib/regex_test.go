package stdlib

import (
	"fmt"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/ere"
	lua "github.com/yuin/gopher-lua"
)

// newRegexState returns a fresh state with the standard libraries and the
// regex library open.
func newRegexState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	OpenRegex(L)
	return L
}

// regexLuaPrelude defines helpers for the snippets: pack(...) keeps nils and
// the count; eq(got, want...) compares packed results.
const regexLuaPrelude = `
local function pack(...) return {n = select("#", ...), ...} end
local function show(t)
	local parts = {}
	for i = 1, t.n do parts[i] = type(t[i]) == "string" and string.format("%q", t[i]) or tostring(t[i]) end
	return "(" .. table.concat(parts, ", ") .. ")"
end
local function eq(got, ...)
	local want = pack(...)
	local ok = got.n == want.n
	for i = 1, math.max(got.n, want.n) do
		if got[i] ~= want[i] then ok = false end
	end
	if not ok then error("got " .. show(got) .. ", want " .. show(want), 2) end
end
local function fails(msg, f, ...)
	local ok, err = pcall(f, ...)
	if ok then error("no error, want " .. msg, 2) end
	if err ~= msg then error("error " .. tostring(err) .. ", want " .. msg, 2) end
end
`

func TestRegexLua(t *testing.T) {
	tests := []struct {
		name string
		code string
	}{
		{"spec find", `eq(pack(regex.compile("a(a)(a)"):find("aaaaa")), 1, 3)`},
		{"spec match", `eq(pack(regex.compile("a(a)(a)"):match("aaaaa")), "aaa", "a", "a")`},
		{"spec gmatch", `
			local n = 0
			for m, a, b in regex.compile("a(a)(a)"):gmatch("aaaaaa") do
				n = n + 1
				eq(pack(m, a, b), "aaa", "a", "a")
			end
			assert(n == 2, n)`},
		{"spec nil group", `eq(pack(regex.compile("(a)|(b)"):match("b")), "b", nil, "b")`},
		{"spec negative init", `eq(pack(regex.compile("a"):find("xax", -100)), 2, 2)`},
		{"spec compat gmatch", `
			local found = {}
			for m, k, v in regex.compile(regex.compat("(\\w+)=(\\w+)")):gmatch("from=world, to=Lua") do
				found[#found + 1] = {m, k, v}
			end
			assert(#found == 2, #found)
			local unpack = table.unpack or unpack
			eq(pack(unpack(found[1])), "from=world", "from", "world")
			eq(pack(unpack(found[2])), "to=Lua", "to", "Lua")`},
		{"spec compat with flags", `
			local reg = regex.compile(regex.compat("(\\w+)=(\\w+)"), regex.EXTENDED + regex.NEWLINE)
			eq(pack(reg:match("a=b")), "a=b", "a", "b")`},
		{"empty match", `eq(pack(regex.compile("a*"):find("")), 1, 0)`},
		{"empty match inside", `eq(pack(regex.compile("x*"):find("abc", 2)), 2, 1)`},
		{"leftmost longest", `eq(pack(regex.compile("a|ab"):match("ab")), "ab")`},
		{"leftmost longest groups", `eq(pack(regex.compile("(a|ab)(c|bcd)(d*)"):match("abcd")), "abcd", "a", "bcd", "")`},
		{"no match returns nothing", `
			eq(pack(regex.compile("z"):find("abc")))
			eq(pack(regex.compile("z"):match("abc")))`},
		{"function form", `
			local re = regex.compile("b+")
			eq(pack(regex.find(re, "abbc")), 2, 3)
			eq(pack(regex.match(re, "abbc")), "bb")
			local it = regex.gmatch(re, "abcb")
			eq(pack(it()), "b"); eq(pack(it()), "b"); eq(pack(it()))`},
		{"constants", `
			assert(regex.EXTENDED == 1 and regex.ICASE == 2 and regex.NEWLINE == 4 and regex.NOSUB == 8)`},
		{"metatable", `
			local re = regex.compile("a")
			local mt = getmetatable(re)
			assert(mt.__name == "regex", tostring(mt.__name))
			assert(mt.__index == regex)
			assert(type(re) == "userdata")
			assert(tostring(re):find("^regex: "), tostring(re))`},
		{"package.loaded", `assert(package.loaded.regex == regex)`},
		{"default flags are EXTENDED|NEWLINE", `
			eq(pack(regex.compile("^b$"):find("a\nb\nc")), 3, 3)
			eq(pack(regex.compile("a.c"):find("a\nc")))
			eq(pack(regex.compile("a[^x]c"):find("a\nc")))
			eq(pack(regex.compile("(a)+"):match("aa")), "aa", "a")`},
		{"EXTENDED without NEWLINE", `
			local re = regex.compile("^b$", regex.EXTENDED)
			eq(pack(re:find("a\nb\nc")))
			eq(pack(re:find("b")), 1, 1)
			eq(pack(regex.compile("a.c", regex.EXTENDED):find("a\nc")), 1, 3)`},
		{"BRE without EXTENDED", `
			eq(pack(regex.compile("a\\{2\\}", 0):find("baaa")), 2, 3)
			eq(pack(regex.compile("a{2}", 0):find("a{2}")), 1, 4)
			eq(pack(regex.compile("\\(a\\)\\1", 0):match("xaa")), "aa", "a")
			eq(pack(regex.compile("a+", 0):find("aa+")), 2, 3)`},
		{"ICASE", `
			eq(pack(regex.compile("ABC", regex.EXTENDED + regex.ICASE):find("xabc")), 2, 4)
			eq(pack(regex.compile("[[:upper:]]+", regex.EXTENDED + regex.ICASE):match("aB")), "aB")
			eq(pack(regex.compile("ABC"):find("abc")))`},
		{"NOSUB is ignored", `
			eq(pack(regex.compile("(a)(b)?", regex.EXTENDED + regex.NOSUB):match("a")), "a", "a", nil)`},
		{"init values", `
			local re = regex.compile("a")
			eq(pack(re:find("aXa", 0)), 1, 1)
			eq(pack(re:find("aXa", nil)), 1, 1)
			eq(pack(re:find("aXa", 2)), 3, 3)
			eq(pack(re:find("aXa", -1)), 3, 3)
			eq(pack(re:find("aXa", -3)), 1, 1)
			eq(pack(re:find("aXa", 4)))
			eq(pack(re:find("aXa", 100)))
			eq(pack(regex.compile("$"):find("abc", 100)), 4, 3)
			eq(pack(regex.compile("b*"):find("abc", 4)), 4, 3)
			eq(pack(re:find("aXa", "2")), 3, 3)`},
		{"init must be an integer", `
			local ok, err = pcall(regex.find, regex.compile("a"), "a", 1.5)
			assert(not ok and err:find("number has no integer representation"), err)`},
		{"anchoring quirk at init", `
			eq(pack(regex.compile("^b"):find("ab", 2)), 2, 2)
			eq(pack(regex.compile("^b", regex.EXTENDED):find("ab", 2)), 2, 2)
			local n = 0
			for m in regex.compile("^a"):gmatch("aaa") do n = n + 1 end
			assert(n == 3, n)`},
		{"gmatch empty matches advance", `
			local got = {}
			for m in regex.compile("x*"):gmatch("ab") do got[#got + 1] = m end
			assert(#got == 3 and got[1] == "" and got[2] == "" and got[3] == "", #got)`},
		{"gmatch mixed", `
			local got = {}
			for m in regex.compile("a*"):gmatch("baab") do got[#got + 1] = m end
			assert(table.concat(got, ",") == ",aa,,", table.concat(got, ","))`},
		{"gmatch init", `
			local got = {}
			for m in regex.compile("[0-9]+"):gmatch("1 22 333", 3) do got[#got + 1] = m end
			assert(table.concat(got, ",") == "22,333", table.concat(got, ","))
			got = {}
			for m in regex.compile("[0-9]+"):gmatch("1 22 333", -3) do got[#got + 1] = m end
			assert(table.concat(got, ",") == "333", table.concat(got, ","))`},
		{"gmatch past the end", `
			local it = regex.compile("a"):gmatch("a", 5)
			eq(pack(it()))
			eq(pack(it()))`},
		{"compile errors", `
			fails("Unmatched ( or \\(", regex.compile, "(")
			fails("Unmatched [, [^, [:, [., or [=", regex.compile, "[a")
			fails("Invalid preceding regular expression", regex.compile, "*a")
			fails("Invalid character class name", regex.compile, "[[:foo:]]")
			fails("Trailing backslash", regex.compile, "a\\")
			fails("Invalid back reference", regex.compile, "\\1")
			fails("Invalid content of \\{\\}", regex.compile, "a{2,1}")
			fails("Unmatched \\{", regex.compile, "a{1")
			fails("Invalid range end", regex.compile, "[z-a]")
			fails("Regular expression too big", regex.compile, "a{32768}")`},
		{"NUL in pattern", `fails("string contains an embedded NUL byte", regex.compile, "a\0b")`},
		{"NUL in subject", `
			local re = regex.compile("b")
			fails("string contains an embedded NUL byte", re.find, re, "a\0b")
			fails("string contains an embedded NUL byte", re.match, re, "a\0b")
			eq(pack(re:find("a\0b", 3)), 3, 3)
			local it = re:gmatch("b\0b")
			fails("string contains an embedded NUL byte", it)`},
		{"bad self", `
			local ok, err = pcall(regex.find, "x", "y")
			assert(not ok and err:find("regex expected, got string", 1, true), err)
			ok, err = pcall(regex.match, nil, "y")
			assert(not ok and err:find("regex expected", 1, true), err)`},
		{"number subject", `eq(pack(regex.compile("2"):find(123)), 2, 2)`},
		{"perl escapes are not POSIX", `
			eq(pack(regex.compile("\\d"):find("1d")), 2, 2)
			eq(pack(regex.compile("\\w+"):match("ab_1 x")), "ab_1")`},
		{"native compat", `
			assert(regex.compat("\\d\\D\\w\\W\\s\\S") == "[0-9][^0-9][a-zA-Z0-9_][^a-zA-Z0-9_][[:space:]][^[:space:]]")
			assert(regex.compat("\\\\d\\.x\\") == "\\\\d\\.x\\")`},
		{"bytes are bytes", `
			eq(pack(regex.compile("a.b"):find("a\195\169b")))
			eq(pack(regex.compile("a..b"):find("xa\195\169b")), 2, 5)
			eq(pack(regex.compile("[\128-\255]+"):match("x\195\169y")), "\195\169")`},
		{"runaway back-reference times out", `
			local ok, err = pcall(regex.find, regex.compile("(a*)*\\1b"), string.rep("a", 40))
			assert(not ok and err == "regex match timeout", tostring(err))`},
		{"back-reference", `eq(pack(regex.compile("(a+)b\\1"):match("xaabaa")), "aabaa", "aa")`},
		{"host pattern", `
			local re = regex.compile("\\.example\\.(com|org)$")
			eq(pack(re:find("www.example.org")), 4, 15)
			eq(pack(re:find("www.example.net")))
			eq(pack(re:match("a.example.com")), ".example.com", "com")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			L := newRegexState(t)
			if err := L.DoString(regexLuaPrelude + tc.code); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRegexLuaWithoutPackage(t *testing.T) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	lua.OpenBase(L)
	mod := OpenRegex(L)
	if L.GetGlobal("regex") != mod {
		t.Fatal("global regex not set")
	}
	if err := L.DoString(`assert(regex.compile("a"):find("ba") == 2)`); err != nil {
		t.Fatal(err)
	}
}

// TestRegexLuaMatchesGo checks the binding against the Go API on a few
// patterns and every init.
func TestRegexLuaMatchesGo(t *testing.T) {
	L := newRegexState(t)
	patterns := []string{`a|ab`, `(a*)(b?)`, `^x|y$`, `[[:digit:]]+`, `()`}
	subject := "xaab1y\nab22y"
	for _, p := range patterns {
		re := regexMustCompile(t, p, ere.Extended|ere.Newline)
		for init := -len(subject) - 2; init <= len(subject)+2; init++ {
			start := regexStartOffset(int64(init), len(subject))
			idx, err := re.FindIndex(subject[start:])
			if err != nil {
				t.Fatal(err)
			}
			want := "nil"
			if idx != nil {
				want = fmt.Sprintf("%d %d", start+idx[0]+1, start+idx[1])
			}
			code := fmt.Sprintf(`local s, e = regex.compile(%q):find(%q, %d); return s and (s .. " " .. e) or "nil"`, p, subject, init)
			if err := L.DoString(code); err != nil {
				t.Fatal(err)
			}
			got := L.Get(-1).String()
			L.Pop(1)
			if got != want {
				t.Errorf("%q find init %d: got %s, want %s", p, init, got, want)
			}
		}
	}
}

func BenchmarkRegexFindLua(b *testing.B) {
	L := newRegexState(b)
	if err := L.DoString(`
		local re = regex.compile("\\.example\\.(com|org)$")
		function bench(n, s)
			for i = 1, n do re:find(s) end
		end`); err != nil {
		b.Fatal(err)
	}
	fn := L.GetGlobal("bench")
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: fn, Protect: true}, lua.LNumber(b.N), lua.LString("www.example.org")); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRegexFindGo(b *testing.B) {
	re := regexMustCompile(b, `\.example\.(com|org)$`, ere.Extended|ere.Newline)
	s := "www.example.org"
	for b.Loop() {
		if idx, _ := re.FindIndex(s); idx == nil {
			b.Fatal("no match")
		}
	}
}

func regexMustCompile(t testing.TB, pattern string, flags ere.Flags) *ere.Regexp {
	t.Helper()
	re, err := ere.Compile(pattern, flags)
	if err != nil {
		t.Fatalf("Compile(%q): %v", pattern, err)
	}
	return re
}
