package stdlib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

func TestMarshal(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tbl := func(kv ...lua.LValue) *lua.LTable {
		t := L.NewTable()
		for i := 0; i+1 < len(kv); i += 2 {
			t.RawSet(kv[i], kv[i+1])
		}
		return t
	}
	list := func(vs ...lua.LValue) *lua.LTable {
		t := L.NewTable()
		for _, v := range vs {
			t.Append(v)
		}
		return t
	}
	n := func(f float64) lua.LValue { return lua.LNumber(f) }
	s := func(s string) lua.LValue { return lua.LString(s) }
	tests := []struct {
		name string
		in   []lua.LValue
		want string
	}{
		{"none", nil, ""},
		{"nil", []lua.LValue{lua.LNil}, "nil"},
		{"bools", []lua.LValue{lua.LTrue, lua.LFalse}, "true,false"},
		{"zero", []lua.LValue{n(0)}, "0"},
		{"negative zero", []lua.LValue{n(math.Copysign(0, -1))}, "-0.0"},
		{"small ints", []lua.LValue{n(42), n(-3)}, "42,-3"},
		{"decimal limit", []lua.LValue{n(999999999999), n(-999999999999)}, "999999999999,-999999999999"},
		{"hex above limit", []lua.LValue{n(1e12), n(-1e12)}, "0xe8d4a51000,-0xe8d4a51000"},
		{"2^53 is the last plain integer", []lua.LValue{n(1 << 53), n(-(1 << 53))}, "0x20000000000000,-0x20000000000000"},
		{"exact integers", []lua.LValue{lua54.Integer(math.MinInt64), lua54.Integer(math.MaxInt64), lua54.Integer(1<<53 + 1), lua54.Integer(-(1 << 60))},
			"0x8000000000000000,0x7fffffffffffffff,0x20000000000001,-0x1000000000000000"},
		{"floats beyond 2^53", []lua.LValue{n(math.MinInt64), n(1 << 60), n(1e16)}, "-0x1p+63,0x1p+60,0x1.1c37937e08p+53"},
		{"2^63 is a float", []lua.LValue{n(math.Pow(2, 63))}, "0x1p+63"},
		{"largest int64 float", []lua.LValue{n(math.Nextafter(math.Pow(2, 63), 0))}, "0x1.fffffffffffffp+62"},
		{"nan inf", []lua.LValue{n(math.NaN()), n(math.Inf(1)), n(math.Inf(-1))}, "0/0,1/0,-1/0"},
		{"hex floats", []lua.LValue{n(1.5), n(0.5), n(-2.5), n(0.1), n(math.Pi)},
			"0x1.8p+0,0x1p-1,-0x1.4p+1,0x1.999999999999ap-4,0x1.921fb54442d18p+1"},
		{"subnormal", []lua.LValue{n(math.SmallestNonzeroFloat64), n(-math.SmallestNonzeroFloat64 * 3)}, "0x1p-1074,-0x1.8p-1073"},
		{"max float", []lua.LValue{n(math.MaxFloat64)}, "0x1.fffffffffffffp+1023"},
		{"strings", []lua.LValue{s(""), s(`a"b\c`), s("x\ny"), s("\x00\x01\t\r\x1f\x7f\x80\xff")},
			`"","a\"b\\c","x\` + "\n" + `y","\000\001\009\013\031\127` + "\x80\xff" + `"`},
		{"utf-8 raw", []lua.LValue{s("héllo")}, `"héllo"`},
		{"empty table", []lua.LValue{tbl()}, "{}"},
		{"list", []lua.LValue{list(n(1), n(2), n(3))}, "{1,2,3,}"},
		{"spec example", []lua.LValue{s("a"), tbl(n(1), s("b"), s("c"), s("d"))}, `"a",{"b",["c"]="d",}`},
		{"hole", []lua.LValue{tbl(n(1), n(1), n(2), n(2), n(4), n(4))}, "{1,2,[4]=4,}"},
		{"keys", []lua.LValue{tbl(lua.LTrue, n(1))}, "{[true]=1,}"},
		{"float key", []lua.LValue{tbl(n(1.5), n(2))}, "{[0x1.8p+0]=2,}"},
		{"nested", []lua.LValue{list(list(list()))}, "{{{},},}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(L, tc.in...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Marshal = %q, want %q", got, tc.want)
			}
			back, err := readMarshal(L, got)
			if err != nil {
				t.Fatalf("read back %q: %v", got, err)
			}
			if len(back) != len(tc.in) {
				t.Fatalf("read back %d values, want %d", len(back), len(tc.in))
			}
			for i := range back {
				if !sameValue(back[i], tc.in[i]) {
					t.Errorf("value %d: read back %v, want %v", i, back[i], tc.in[i])
				}
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	cyc := L.NewTable()
	inner := L.NewTable()
	cyc.RawSetString("a", inner)
	inner.RawSetInt(1, cyc)
	shared := L.NewTable()
	twice := L.NewTable()
	twice.Append(shared)
	twice.Append(shared)
	keyed := L.NewTable()
	keyed.RawSet(L.NewFunction(luaMarshal), lua.LTrue)
	tests := []struct {
		name string
		in   lua.LValue
		want string
	}{
		{"function", L.NewFunction(luaMarshal), "function: 0x"},
		{"function suffix", L.NewFunction(luaMarshal), " is not marshallable"},
		{"userdata", L.NewUserData(), "userdata: 0x"},
		{"thread", func() lua.LValue { co, _ := L.NewThread(); return co }(), "thread: 0x"},
		{"function key", keyed, "is not marshallable"},
		{"cycle", cyc, "circular referenced table is not marshallable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(L, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Marshal error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if got, err := Marshal(L, twice); err != nil || got != "{{},{},}" {
		t.Errorf("shared table: %q, %v", got, err)
	}
	if _, err := Marshal(L, cyc); !errors.Is(err, ErrCircular) {
		t.Errorf("cycle error %v is not ErrCircular", err)
	}
	// deep nesting: the ancestor set switches to a map past 32 levels
	for _, depth := range []int{31, 32, 33, 100} {
		root := L.NewTable()
		cur := root
		for i := 0; i < depth; i++ {
			next := L.NewTable()
			cur.Append(next)
			cur.Append(shared) // shared at every level: not a cycle
			cur = next
		}
		want := strings.Repeat("{", depth) + "{}" + strings.Repeat(",{},}", depth)
		if got, err := Marshal(L, root); err != nil || got != want {
			t.Errorf("depth %d: %v, %.60q", depth, err, got)
		}
		cur.Append(root)
		if _, err := Marshal(L, root); !errors.Is(err, ErrCircular) {
			t.Errorf("depth %d cycle: %v", depth, err)
		}
		cur.RawSetInt(1, shared)
		inner := root.RawGetInt(1).(*lua.LTable)
		cur.Append(inner) // a cycle below the root
		if _, err := Marshal(L, root); !errors.Is(err, ErrCircular) {
			t.Errorf("depth %d inner cycle: %v", depth, err)
		}
	}
	// the Lua function raises the bare message, without a position
	L.SetGlobal("marshal", L.NewFunction(luaMarshal))
	err := L.DoString(`local ok, err = pcall(marshal, print)
		assert(not ok and err:find("^function: 0x%x+ is not marshallable$"), err)`)
	if err != nil {
		t.Error(err)
	}
}

// readMarshal is an independent reader of the marshal format (test only):
// the exact grammar marshal writes, nothing more.
func readMarshal(L *lua.LState, s string) ([]lua.LValue, error) {
	r := &mreader{L: L, s: s}
	var out []lua.LValue
	if s == "" {
		return nil, nil
	}
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if r.i == len(s) {
			return out, nil
		}
		if err := r.expect(","); err != nil {
			return nil, err
		}
	}
}

type mreader struct {
	L *lua.LState
	s string
	i int
}

func (r *mreader) expect(tok string) error {
	if !strings.HasPrefix(r.s[r.i:], tok) {
		return fmt.Errorf("offset %d: want %q", r.i, tok)
	}
	r.i += len(tok)
	return nil
}

func (r *mreader) value() (lua.LValue, error) {
	rest := r.s[r.i:]
	for _, lit := range []struct {
		s string
		v lua.LValue
	}{
		{"nil", lua.LNil}, {"true", lua.LTrue}, {"false", lua.LFalse},
		{"0/0", lua.LNumber(math.NaN())}, {"1/0", lua.LNumber(math.Inf(1))},
		{"-1/0", lua.LNumber(math.Inf(-1))}, {"-0.0", lua.LNumber(math.Copysign(0, -1))},
	} {
		if strings.HasPrefix(rest, lit.s) {
			r.i += len(lit.s)
			return lit.v, nil
		}
	}
	switch {
	case rest == "":
		return nil, errors.New("unexpected end")
	case rest[0] == '"':
		return r.str()
	case rest[0] == '{':
		return r.table()
	}
	return r.number()
}

func (r *mreader) number() (lua.LValue, error) {
	j := r.i
	for j < len(r.s) && strings.IndexByte("-+0123456789abcdefxp.", r.s[j]) >= 0 {
		j++
	}
	tok := r.s[r.i:j]
	r.i = j
	neg := strings.HasPrefix(tok, "-")
	body := strings.TrimPrefix(tok, "-")
	switch {
	case strings.ContainsRune(body, 'p'):
		f, err := strconv.ParseFloat(tok, 64)
		return lua.LNumber(f), err
	case tok == "0x8000000000000000":
		return lua54.Integer(math.MinInt64), nil
	case strings.HasPrefix(body, "0x"):
		u, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil || u <= decimalLimit || u > math.MaxInt64 {
			return nil, fmt.Errorf("bad hex integer %q", tok)
		}
		if neg {
			return lua54.Integer(-int64(u)), nil
		}
		return lua54.Integer(int64(u)), nil
	}
	i, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || i > decimalLimit || i < -decimalLimit || tok == "-0" {
		return nil, fmt.Errorf("bad decimal %q", tok)
	}
	return lua.LNumber(i), nil
}

func (r *mreader) str() (lua.LValue, error) {
	r.i++
	var b []byte
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return lua.LString(b), nil
		case c == '\\' && r.i+1 < len(r.s):
			d := r.s[r.i+1]
			switch {
			case d == '"' || d == '\\' || d == '\n':
				b = append(b, d)
				r.i += 2
			case r.i+4 <= len(r.s):
				n, err := strconv.Atoi(r.s[r.i+1 : r.i+4])
				if err != nil || n > 255 || !(n < 0x20 || n == 0x7f) {
					return nil, fmt.Errorf("bad escape at %d", r.i)
				}
				b = append(b, byte(n))
				r.i += 4
			default:
				return nil, fmt.Errorf("bad escape at %d", r.i)
			}
		case c < 0x20 && c != '\n' || c == 0x7f || c == '\n':
			return nil, fmt.Errorf("raw control byte %#x at %d", c, r.i)
		default:
			b = append(b, c)
			r.i++
		}
	}
	return nil, errors.New("unterminated string")
}

func (r *mreader) table() (lua.LValue, error) {
	r.i++
	t := r.L.NewTable()
	next := 1
	for {
		if r.i < len(r.s) && r.s[r.i] == '}' {
			r.i++
			return t, nil
		}
		if r.i < len(r.s) && r.s[r.i] == '[' {
			r.i++
			k, err := r.value()
			if err != nil {
				return nil, err
			}
			if err := r.expect("]="); err != nil {
				return nil, err
			}
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			t.RawSet(k, v)
		} else {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			t.RawSetInt(next, v)
			next++
		}
		if err := r.expect(","); err != nil {
			return nil, err
		}
	}
}

// sameValue compares Lua values deeply; numbers by bits (any NaN equals any
// NaN), tables by content.
func sameValue(a, b lua.LValue) bool { return compareValue(a, b, false) }

// compareValue is sameValue; with anyZero, -0.0 equals +0.0.
func compareValue(a, b lua.LValue, anyZero bool) bool {
	switch a := a.(type) {
	case lua.LNumber:
		b, ok := b.(lua.LNumber)
		if !ok {
			return false
		}
		if a != a {
			return b != b
		}
		if anyZero && a == 0 {
			return b == 0
		}
		return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
	case *lua.LTable:
		b, ok := b.(*lua.LTable)
		if !ok {
			return false
		}
		same := true
		count := 0
		a.ForEach(func(k, v lua.LValue) {
			count++
			if !compareValue(v, b.RawGet(k), anyZero) {
				same = false
			}
		})
		b.ForEach(func(lua.LValue, lua.LValue) { count-- })
		return same && count == 0
	}
	return a == b
}

// fuzzValue builds a Lua value from fuzz input: nil, booleans, numbers
// from raw float64 bits or small integers, byte strings and nested tables
// with list items and string/number/boolean keys.
type fuzzValue struct {
	L     *lua.LState
	b     []byte
	nodes int
}

func (g *fuzzValue) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *fuzzValue) scalar(op byte) lua.LValue {
	switch op % 6 {
	case 0:
		return lua.LBool(g.byte()&1 == 1)
	case 1:
		var buf [8]byte
		n := copy(buf[:], g.b)
		g.b = g.b[n:]
		return lua.LNumber(math.Float64frombits(binary.LittleEndian.Uint64(buf[:])))
	case 2:
		return lua.LNumber(int8(g.byte()))
	case 3:
		n := int(g.byte() % 32)
		if n > len(g.b) {
			n = len(g.b)
		}
		s := string(g.b[:n])
		g.b = g.b[n:]
		return lua.LString(s)
	case 4:
		return lua.LNumber(float64(binary.LittleEndian.Uint32([]byte{g.byte(), g.byte(), g.byte(), g.byte()})) * 1e4)
	}
	return lua.LString("k")
}

func (g *fuzzValue) value(depth int) lua.LValue {
	g.nodes++
	op := g.byte()
	if op%7 != 6 || depth > 4 || g.nodes > 200 {
		return g.scalar(op)
	}
	t := g.L.NewTable()
	n := int(g.byte() % 12)
	for i := 0; i < n && len(g.b) > 0; i++ {
		v := g.value(depth + 1)
		if g.byte()&1 == 0 {
			t.Append(v)
			continue
		}
		k := g.scalar(g.byte())
		if kn, ok := k.(lua.LNumber); ok && kn != kn {
			continue // NaN is not a key
		}
		t.RawSet(k, v)
	}
	return t
}

// FuzzMarshalRoundTrip marshals generated values, checks the text with the
// independent reader above and round-trips it through libruleset's
// unmarshal on the full runtime (compat's Lua 5.4 loader).
func FuzzMarshalRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f})                      // NaN
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0x80})                         // -0.0
	f.Add([]byte{3, 5, 'a', '"', '\n', 0, 0x7f})                        // string escapes
	f.Add([]byte{6, 5, 2, 1, 0, 3, 2, 'x', 'y', 1, 2, 7, 0, 3, 1, 'k'}) // table
	f.Add([]byte{4, 0xff, 0xff, 0xff, 0xff, 6, 3, 6, 2, 2, 9, 0, 2, 8, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0xb0, 0x43}) // the float 2^60
	L := newTestState(f)
	if err := L.DoString(`require "libruleset"`); err != nil {
		f.Fatal(err)
	}
	unmarshal := L.GetGlobal("unmarshal")
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &fuzzValue{L: L, b: data}
		var values []lua.LValue
		for len(g.b) > 0 && len(values) < 8 {
			values = append(values, g.value(0))
		}
		s, err := Marshal(L, values...)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := readMarshal(L, s)
		if err != nil {
			t.Fatalf("reader rejects %q: %v", s, err)
		}
		if len(back) != len(values) {
			t.Fatalf("%q: read %d values, want %d", s, len(back), len(values))
		}
		for i := range values {
			if !sameValue(back[i], values[i]) {
				t.Fatalf("%q: value %d reads back differently", s, i)
			}
		}
		top := L.GetTop()
		if err := L.CallByParam(lua.P{Fn: unmarshal, NRet: lua.MultRet, Protect: true}, lua.LString(s)); err != nil {
			t.Fatalf("unmarshal(%q): %v", s, err)
		}
		got := L.GetTop() - top
		if got != len(values) {
			t.Fatalf("unmarshal(%q) returned %d values, want %d", s, got, len(values))
		}
		for i := range values {
			// the runtime's 5.4 loader reads "-0.0" as +0 (reported), so
			// this leg ignores the sign of zero; the reader above checks it
			if !compareValue(L.Get(top+1+i), values[i], true) {
				t.Fatalf("unmarshal(%q): value %d = %v differs", s, i, L.Get(top+1+i))
			}
		}
		L.SetTop(top)
		// the loader path of unmarshal reads the text alike
		slow, err := loadValues(t, L, s)
		if err != nil {
			t.Fatalf("load(%q): %v", s, err)
		}
		for i := range values {
			if i >= len(slow) || !compareValue(slow[i], values[i], true) {
				t.Fatalf("load(%q): value %d differs", s, i)
			}
		}
	})
}

// TestMarshalLoadKeyAfterFlush reads back, through load (the Lua 5.4 front
// end), constructors whose keyed field follows a multiple of 50 positional
// items. gopher-lua v1.1.2's compiler flushes the pending positional items
// (SETLIST) again after such a keyed field, after the key and value were
// computed into the registers of the flushed batch whenever they are not
// constants it can encode inline (a call, or the 257th constant of the
// function): items 1.. of that batch are replaced by the key and the value,
// or by Go nil values left in registers a call used.
func TestMarshalLoadKeyAfterFlush(t *testing.T) {
	L := newTestState(t)
	err := L.DoString(`
local function check(label, u, n, want_name)
    for i = 1, n do
        local e = u[i]
        -- the miscompiled constructor can even store Go nil values, which
        -- make type() and tostring() fail
        local okt, ty = pcall(type, e)
        if not okt then
            error(string.format("%s: item %d is broken: %s", label, i, tostring(ty)), 0)
        end
        local v = ty == "table" and e[1] or e
        if v ~= i then
            error(string.format("%s: item %d is %s", label, i, tostring(e)), 0)
        end
    end
    if u.name ~= want_name then
        error(string.format("%s: name is %s", label, tostring(u.name)), 0)
    end
end

-- the reported shape: 100 items and a key, through marshal
local t = { name = "big" }
for i = 1, 100 do
    t[i] = { i, tostring(i), i / 7, { x = i % 2 == 0 } }
end
local s = marshal(t)
local errs = {}
local ok_, err = pcall(check, "marshal", assert(load("return " .. s))(), 100, "big")
if not ok_ then
    errs[#errs + 1] = err
end

-- minimal: 50 positional items, then a key computed by a call
local items = {}
for i = 1, 50 do
    items[i] = tostring(i)
end
local src = "local function k() return 'name' end return { " .. table.concat(items, ", ") .. ", [k()] = 'big' }"
ok_, err = pcall(check, "minimal", assert(load(src))(), 50, "big")
if not ok_ then
    errs[#errs + 1] = err
end
if #errs > 0 then
    error(table.concat(errs, "; "), 0)
end
`)
	if err != nil {
		t.Fatal(err)
	}
}
