package lua54

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	gomath "math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// corpusItem is one differential test case: a small Lua program.
type corpusItem struct {
	name  string
	src   string
	limit string // non-empty: a documented float-carrier difference
}

// readCorpus reads testdata/corpus.txt. A plain line is an expression list
// printed with print(...); a block between "--- name" and "---" is a
// program. " ;; limit: reason" at the end of a line or header marks a
// documented float-carrier limit.
func readCorpus(t testing.TB) []corpusItem {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	var items []corpusItem
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	var block *corpusItem
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if block != nil {
			if line == "---" {
				items = append(items, *block)
				block = nil
				continue
			}
			block.src += line + "\n"
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, limit, _ := strings.Cut(line, " ;; limit: ")
		if name, ok := strings.CutPrefix(text, "--- "); ok {
			block = &corpusItem{name: fmt.Sprintf("%d:%s", lineNo, name), limit: limit}
			continue
		}
		items = append(items, corpusItem{
			name:  fmt.Sprintf("%d:%s", lineNo, text),
			src:   "print(" + text + ")\n",
			limit: limit,
		})
	}
	if block != nil {
		t.Fatalf("corpus: unterminated block %s", block.name)
	}
	return items
}

const itemSep = "\x01===\x01"

// luaDriver is the lua5.4 side: every item loaded with chunk name "=item"
// and run under pcall; errors print as "ERR: msg".
const luaDriver = `
local items = ...
for _, src in ipairs(items) do
  local f, err = load(src, "=item", "t")
  if not f then print("ERR: " .. err) else
    local ok, e = pcall(f)
    if not ok then print("ERR: " .. tostring(e)) end
  end
  io.write(SEP, "\n")
end
`

func runReference(t testing.TB, items []corpusItem) []string {
	t.Helper()
	lua54, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	var prog strings.Builder
	prog.WriteString("local SEP = " + luaQuote(itemSep) + "\nlocal items = {\n")
	for _, it := range items {
		prog.WriteString(luaQuote(it.src) + ",\n")
	}
	prog.WriteString("}\n")
	prog.WriteString(strings.Replace(luaDriver, "local items = ...", "", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lua54, "-")
	cmd.Stdin = strings.NewReader(prog.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lua5.4: %v\n%s", err, out)
	}
	parts := strings.Split(string(out), itemSep+"\n")
	if len(parts) != len(items)+1 {
		t.Fatalf("lua5.4 produced %d outputs for %d items", len(parts)-1, len(items))
	}
	return parts[:len(items)]
}

// luaQuote renders s as a Lua string literal using decimal escapes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\%03d", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// newTestState returns a gopher-lua state whose print/tostring format
// numbers like Lua 5.4 (FormatNumber), writing into out.
func newTestState(out *bytes.Buffer) *lua.LState {
	L := lua.NewState()
	tostr := func(L *lua.LState, v lua.LValue) string {
		if s, ok := FormatValue(v); ok {
			return s
		}
		return L.ToStringMeta(v).String()
	}
	L.SetGlobal("type", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(TypeName(L.CheckAny(1))))
		return 1
	}))
	L.SetGlobal("tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(tostr(L, L.CheckAny(1))))
		return 1
	}))
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				out.WriteByte('\t')
			}
			out.WriteString(tostr(L, L.Get(i)))
		}
		out.WriteByte('\n')
		return 0
	}))
	// io.write into the same buffer; math.huge as in Lua 5.4 (gopher-lua's
	// is the largest finite float); the 5.3 integer limits and math.type;
	// type() names boxed integers "number".
	io := L.GetGlobal("io").(*lua.LTable)
	io.RawSetString("write", L.NewFunction(func(L *lua.LState) int {
		for i := 1; i <= L.GetTop(); i++ {
			out.WriteString(tostr(L, L.Get(i)))
		}
		return 0
	}))
	math := L.GetGlobal("math").(*lua.LTable)
	math.RawSetString("huge", lua.LNumber(gomath.Inf(1)))
	math.RawSetString("maxinteger", Integer(gomath.MaxInt64))
	math.RawSetString("mininteger", Integer(gomath.MinInt64))
	math.RawSetString("type", L.NewFunction(func(L *lua.LState) int {
		if t := MathType(L.CheckAny(1)); t != "" {
			L.Push(lua.LString(t))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}))
	// A minimal string-only load through this package (the full shim with
	// reader functions and modes lives in package stdlib).
	L.SetGlobal("load", L.NewFunction(func(L *lua.LState) int {
		src := L.CheckString(1)
		name := L.OptString(2, src)
		fn, err := Load(L, []byte(src), name)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		if env, ok := L.Get(4).(*lua.LTable); ok {
			fn.Env = env
		}
		L.Push(fn)
		return 1
	}))
	return L
}

// runOurs runs one item through Load in a fresh state.
func runOurs(src string) (out string) {
	var buf bytes.Buffer
	L := newTestState(&buf)
	defer L.Close()
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("GO PANIC: %v", r)
		}
	}()
	fn, err := Load(L, []byte(src), "=item")
	if err != nil {
		return "ERR: " + err.Error() + "\n"
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		msg := err.Error()
		if ae, ok := err.(*lua.ApiError); ok {
			msg = ae.Object.String()
		}
		buf.WriteString("ERR: " + msg + "\n")
	}
	return buf.String()
}

func TestDifferential(t *testing.T) {
	items := readCorpus(t)
	if len(items) < 300 {
		t.Errorf("corpus has %d items, want at least 300", len(items))
	}
	want := runReference(t, items)
	limits := 0
	for i, it := range items {
		got := runOurs(it.src)
		if it.limit != "" {
			limits++
			if got == want[i] {
				t.Errorf("%s: marked as limit (%s) but outputs agree: %q", it.name, it.limit, got)
			} else if strings.Contains(got, "GO PANIC") {
				t.Errorf("%s: %s", it.name, got)
			}
			continue
		}
		if got != want[i] {
			t.Errorf("%s:\nsrc: %s\nlua5.4: %q\nours:   %q", it.name, it.src, want[i], got)
		}
	}
	t.Logf("%d items, %d documented limits", len(items), limits)
}
