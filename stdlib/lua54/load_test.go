package lua54

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	gparse "github.com/yuin/gopher-lua/parse"
)

func TestChunkID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"literal", "=ruleset", "ruleset"},
		{"file", "@x.lua", "x.lua"},
		{"source", "x = 1", `[string "x = 1"]`},
		{"multiline", "a\nb", `[string "a..."]`},
		{"long literal", "=" + strings.Repeat("n", 70), strings.Repeat("n", 59)},
		{"long file", "@" + strings.Repeat("d", 70), "..." + strings.Repeat("d", 56)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChunkID(tc.in); got != tc.want {
				t.Fatalf("ChunkID(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNumerals(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0xffffffffffffffff", -1, true},
		{"0x8000000000000000", -9223372036854775808, true},
		{"9223372036854775808", 9223372036854775808, true},
		{"0x1.8p1", 3, true},
		{"0xA.8", 10.5, true},
		{"0x.8", 0.5, true},
		{"1e2", 100, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"0x", 0, false},
		{"1e", 0, false},
		{"1..2", 0, false},
		{"0x1p", 0, false},
		{"1_0", 0, false},
		{"inf", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseNumeral(tc.in)
		if ok != tc.ok || ok && got.float() != tc.want {
			t.Errorf("parseNumeral(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if v, ok := StringToNumber(" -0x10 "); !ok || v != -16 {
		t.Errorf("StringToNumber(-0x10) = %v %v", v, ok)
	}
	if v, ok := StringToNumber("-0x8000000000000000"); !ok || v != -9223372036854775808 {
		t.Errorf("StringToNumber(-minint) = %v %v", v, ok)
	}
	// Integer numerals keep all 64 bits.
	exact := []struct {
		in   string
		want int64
	}{
		{"0xffffffffffffffff", -1},
		{"0x7fffffffffffffff", 9223372036854775807},
		{"9007199254740993", 9007199254740993},
		{"-9223372036854775808", -9223372036854775808},
		{" -0x8000000000000001 ", 9223372036854775807},
	}
	for _, tc := range exact {
		n, ok := stringToNumeral(tc.in)
		if !ok || !n.isInt || n.i != tc.want {
			t.Errorf("stringToNumeral(%q) = %+v, %v; want integer %d", tc.in, n, ok, tc.want)
		}
	}
}

// TestFormatNumber pins %.14g against Go-side expectations taken from C.
func TestFormatNumber(t *testing.T) {
	tests := map[float64]string{
		0.1: "0.1", 1.0 / 3: "0.33333333333333", 1e100: "1e+100", 3: "3",
		-2.5: "-2.5", 1e-5: "1e-05", 123456.789: "123456.789", 2e15 + 0.5: "2e+15",
	}
	for in, want := range tests {
		if got := FormatNumber(in); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestEmbeddedScripts loads the shipped Lua files through both gopher-lua's
// own parser and this front end: both must compile, and running the chunk
// definitions must behave the same (the embedded files are 5.1-clean).
func TestEmbeddedScripts(t *testing.T) {
	files, _ := filepath.Glob("../lua/*.lua")
	if len(files) == 0 {
		t.Skip("no embedded scripts")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gparse.Parse(bytes.NewReader(src), f); err != nil {
			t.Errorf("%s: gopher-lua parser: %v", f, err)
		}
		L := lua.NewState()
		if _, err := Load(L, src, "@"+filepath.Base(f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		L.Close()
	}
}

// TestRuntimeErrorPosition: errors raised by lowered operators carry the
// chunk name and the operator's line.
func TestRuntimeErrorPosition(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local t = {}\nlocal x = 1 +\n  (t & 1)\nreturn x"), "=ops")
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	err = L.PCall(0, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "ops:3: attempt to perform bitwise operation on a table value") {
		t.Fatalf("err = %v", err)
	}
}

// TestSetfenvIndependence: lowered operators keep working whatever the
// function environment becomes.
func TestSetfenvIndependence(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local a, b = ... return a & b, a | b, a ~ b, ~a, a << 1, a >> 1, a // b"), "=env")
	if err != nil {
		t.Fatal(err)
	}
	fn.Env = L.NewTable()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 7, Protect: true}, lua.LNumber(12), lua.LNumber(5)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := -7; i < 0; i++ {
		got = append(got, L.Get(i).String())
	}
	if want := "4 13 9 -13 24 6 2"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

// FuzzParse: arbitrary source never panics the lexer, parser or compiler.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"return 1 | 2 ~ 3 & 4", "goto a ::a::", "local x <const> = 1", "x = '\\u{7FFFFFFF}'",
		"for i = 1, 2 do end", "a, b = b, a", "return 0x1p-1074", "--[==[ ]==]", "local function f(x) x = (f(x)) end",
		"return [[\n]]", "x = 1 // 0", "::l:: goto l", "return ...", "f{...}", "a.b:c'x'",
		"local x <close> = nil return 1", "for i = 1, 2 do local x <close> = nil if i then break end end",
		"local function f(...) local c <close> = nil goto l ::l:: return ... end",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if _, err := Parse(src, "=fuzz"); err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error without chunk prefix: %v", err)
			}
			return
		}
		L := lua.NewState()
		defer L.Close()
		if _, err := Load(L, src, "=fuzz"); err != nil && !strings.HasPrefix(err.Error(), "fuzz:") {
			t.Fatalf("error without chunk prefix: %v", err)
		}
	})
}

// genExpr builds an integer expression from fuzz bytes. With checked set,
// the binary + - * are written as calls P("op", l, r), which lua5.4 uses
// to notice a result of two plain numbers (within ±2^53) leaving ±2^53.
func genExpr(data []byte, depth int, checked bool) (string, []byte) {
	if len(data) == 0 || depth > 4 {
		return "1", data
	}
	c := data[0]
	data = data[1:]
	switch c % 8 {
	case 0, 1:
		return fmt.Sprint(int(c) - 100), data
	case 2:
		e, rest := genExpr(data, depth+1, checked)
		return "(~" + e + ")", rest
	case 3:
		e, rest := genExpr(data, depth+1, checked)
		return "(- " + e + ")", rest
	default:
		ops := []string{"&", "|", "~", "<<", ">>", "//", "%", "+", "-", "*"}
		l, rest := genExpr(data, depth+1, checked)
		r, rest := genExpr(rest, depth+1, checked)
		op := ops[int(c/8)%len(ops)]
		if op == "<<" || op == ">>" {
			r = "(" + r + " % 64)"
		}
		if checked && (op == "+" || op == "-" || op == "*") {
			return "P(" + strconv.Quote(op) + ", " + l + ", " + r + ")", rest
		}
		return "(" + l + " " + op + " " + r + ")", rest
	}
}

// plainOverflow is the lua5.4 side's P: the operation, and a flag set when
// both operands are within ±2^53 (plain numbers here) and the exact result
// is not — the documented limit where gopher-lua's float arithmetic rounds.
const plainOverflow = `local over = false
local function P(op, a, b)
  local lim, fa, fb = 1 << 53, a + 0.0, b + 0.0
  local f = op == "+" and fa + fb or op == "-" and fa - fb or fa * fb
  if math.type(a) == "integer" and math.type(b) == "integer" and a >= -lim and a <= lim and
    b >= -lim and b <= lim and (f > lim or f < -lim) then over = true end
  if op == "+" then return a + b elseif op == "-" then return a - b end
  return a * b
end
`

// FuzzExprDiff compares generated integer expressions with lua5.4 over
// the whole 64-bit range. Expressions where + - * of two plain numbers
// leaves ±2^53 (the documented limit) only have to run.
func FuzzExprDiff(f *testing.F) {
	bin, err := exec.LookPath("lua5.4")
	if err != nil {
		f.Skip("lua5.4 not installed")
	}
	f.Add([]byte{4, 9, 40, 12})
	f.Add([]byte{12, 2, 50, 7, 200, 3, 9})
	f.Add([]byte{44, 4, 13, 0, 1})
	f.Add([]byte{28, 152, 160})          // (52 << (60 % 64)): wraps beyond 2^63
	f.Add([]byte{60, 28, 152, 160, 105}) // ((52 << (60 % 64)) + 5): a boxed operand
	f.Fuzz(func(t *testing.T, data []byte) {
		expr, _ := genExpr(data, 0, false)
		checked, _ := genExpr(data, 0, true)
		src := plainOverflow + "local ok, v = pcall(function() return " + checked + " end)\n" +
			"if ok and math.type(v) == 'integer' then print(v, over) else print('skip') end"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-e", src).CombinedOutput()
		if err != nil {
			t.Fatalf("lua5.4 %s: %v %s", expr, err, out)
		}
		want, over, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
		if want == "skip" {
			return
		}
		inexact := over == "true"
		var buf bytes.Buffer
		L := newTestState(&buf)
		defer L.Close()
		fn, err := Load(L, []byte("return "+expr), "=expr")
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			if inexact {
				return
			}
			t.Fatalf("%s: lua5.4 gives %s, ours errors: %v", expr, want, err)
		}
		got, _ := FormatValue(L.Get(-1))
		if got != want && !inexact {
			t.Fatalf("%s: lua5.4 %s, ours %s", expr, want, got)
		}
	})
}
