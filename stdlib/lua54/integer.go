package lua54

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"weak"

	lua "github.com/yuin/gopher-lua"
)

// Exact 64-bit integers on gopher-lua's float64 numbers.
//
// An integer within ±2^53 is a plain lua.LNumber: float64 holds it exactly,
// so ordinary arithmetic keeps the VM's speed. An integer beyond ±2^53 (a
// literal, math.maxinteger, the result of a bitwise or integer operator,
// parse_ipv6, unmarshal ...) is "boxed": a *lua.LUserData whose Value is the
// int64 and whose metatable is the one shared, protected integer metatable.
// Boxes are interned (one box per value while any is reachable), so equal
// integers are the same Lua value: == compares them without a metamethod and
// they are the same table key.
//
// The metatable's metamethods give boxes Lua 5.4 integer semantics in + - *
// % // / ^, unary minus, & | ~ << >> and unary ~, <, <=, .. and tostring.
// Ordering comparisons are lowered by the parser to helpers, because
// gopher-lua raises before looking for a metamethod when it compares a plain
// number with anything else.

// maxExact is 2^53: integers of at most this magnitude stay plain numbers.
const maxExact = 1 << 53

// intMeta is the metatable of every boxed integer. It is built once and
// never changed (its __metatable field protects it from setmetatable), so
// the boxes can be shared between LStates running on different goroutines.
//
// It is built by the first box, not at start: building it opens a
// throw-away LState (about 110 KB), which a daemon without a Lua ruleset
// would otherwise pay for at every start. Until then it is nil, and no
// value is a boxed integer; BigInteger reads it with one atomic load.
var intMeta atomic.Pointer[lua.LTable]

// intMetaOnce builds intMeta when the first box is made.
var intMetaOnce sync.Once

// intMetatable returns intMeta, building it on first use.
func intMetatable() *lua.LTable {
	if mt := intMeta.Load(); mt != nil {
		return mt
	}
	intMetaOnce.Do(func() { intMeta.Store(newIntMeta()) })
	return intMeta.Load()
}

// interned maps an int64 to its live box. Boxes are held weakly: a box that
// no Lua value refers to any more is collected, and its entry is dropped by
// the next sweep (run whenever the map has doubled since the last one, so
// sweeping costs O(1) per box created). The map is made by the first box,
// like intMeta.
var interned = struct {
	sync.Mutex
	m         map[int64]weak.Pointer[lua.LUserData]
	nextSweep int
}{nextSweep: minSweep}

// minSweep is the intern table size below which it is never swept.
const minSweep = 1024

// Integer returns the Lua value of the integer i: a plain number within
// ±2^53, else the interned box of i.
func Integer(i int64) lua.LValue {
	if i >= -maxExact && i <= maxExact {
		return lua.LNumber(i)
	}
	return box(i)
}

func box(i int64) *lua.LUserData {
	interned.Lock()
	defer interned.Unlock()
	if wp, ok := interned.m[i]; ok {
		if ud := wp.Value(); ud != nil {
			return ud
		}
	}
	ud := &lua.LUserData{Value: i, Metatable: intMetatable()}
	if interned.m == nil {
		interned.m = make(map[int64]weak.Pointer[lua.LUserData])
	}
	interned.m[i] = weak.Make(ud)
	if len(interned.m) >= interned.nextSweep {
		sweepInterned()
	}
	return ud
}

// sweepInterned drops the entries of collected boxes; interned must be
// locked.
func sweepInterned() {
	for i, wp := range interned.m {
		if wp.Value() == nil {
			delete(interned.m, i)
		}
	}
	interned.nextSweep = max(2*len(interned.m), minSweep)
}

// BigInteger reports whether v is a boxed integer and returns its value.
func BigInteger(v lua.LValue) (int64, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return 0, false
	}
	// Before the first box intMeta is nil, and so is no box's metatable.
	if mt := intMeta.Load(); mt == nil || ud.Metatable != mt {
		return 0, false
	}
	i, ok := ud.Value.(int64)
	return i, ok
}

// IsNumber reports whether v is a Lua number: a plain number or a boxed
// integer.
func IsNumber(v lua.LValue) bool {
	if _, ok := v.(lua.LNumber); ok {
		return true
	}
	_, ok := BigInteger(v)
	return ok
}

// IsInteger reports whether v is a number with an integer value in int64
// range (Lua 5.4's lua_tointeger without string coercion) and returns it.
// On the float carrier an integral plain number counts as an integer.
func IsInteger(v lua.LValue) (int64, bool) {
	if n, ok := v.(lua.LNumber); ok {
		return toInteger(float64(n))
	}
	return BigInteger(v)
}

// ToFloat converts a number (plain or boxed) to float64.
func ToFloat(v lua.LValue) (float64, bool) {
	if n, ok := v.(lua.LNumber); ok {
		return float64(n), true
	}
	if i, ok := BigInteger(v); ok {
		return float64(i), true
	}
	return 0, false
}

// TypeName is Lua 5.4's type(v): "number" for boxed integers too.
func TypeName(v lua.LValue) string {
	if _, ok := BigInteger(v); ok {
		return "number"
	}
	return v.Type().String()
}

// MathType is math.type(v): "integer", "float", or "" for a non-number.
// Integral plain numbers within ±2^53 are integers (the float carrier
// cannot tell 3 from 3.0); plain numbers beyond are floats.
func MathType(v lua.LValue) string {
	switch n := v.(type) {
	case lua.LNumber:
		if _, ok := PlainInteger(float64(n)); ok {
			return "integer"
		}
		return "float"
	}
	if _, ok := BigInteger(v); ok {
		return "integer"
	}
	return ""
}

// FormatValue renders a number (plain or boxed) as Lua 5.4's tostring; ok
// is false when v is not a number.
func FormatValue(v lua.LValue) (string, bool) {
	if n, ok := v.(lua.LNumber); ok {
		return FormatNumber(float64(n)), true
	}
	if i, ok := BigInteger(v); ok {
		return strconv.FormatInt(i, 10), true
	}
	return "", false
}

// Less reports whether a < b for two numbers (plain or boxed), compared
// exactly; it is false when either is NaN or not a number.
func Less(a, b lua.LValue) bool {
	na, oka := numeralOf(a)
	nb, okb := numeralOf(b)
	if !oka || !okb {
		return false
	}
	c, ordered := cmpNumerals(na, nb)
	return ordered && c < 0
}

// LessThan is Lua 5.4's a < b for any two values (what the lowered <
// computes): numbers exactly, strings byte-wise, else __lt, else Lua's
// error.
func LessThan(L *lua.LState, a, b lua.LValue) bool {
	return compareValues(L, opLt, a, b)
}

// StringToValue is Lua 5.4's string→number coercion (tonumber without a
// base) returning the Lua value: an integer numeral gives an exact integer
// (boxed beyond ±2^53), anything else a float.
func StringToValue(s string) (lua.LValue, bool) {
	n, ok := stringToNumeral(s)
	if !ok {
		return nil, false
	}
	return n.value(), true
}

// numeral is a number as Lua 5.4 reads it: an integer or a float.
type numeral struct {
	i     int64
	f     float64
	isInt bool
}

func intNumeral(i int64) numeral     { return numeral{i: i, isInt: true} }
func floatNumeral(f float64) numeral { return numeral{f: f} }

func (n numeral) value() lua.LValue {
	if n.isInt {
		return Integer(n.i)
	}
	return lua.LNumber(n.f)
}

func (n numeral) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// numeralOf reads a Lua number value. A plain number is an integer when it
// is integral and within ±2^53 (PlainInteger).
func numeralOf(v lua.LValue) (numeral, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		if i, ok := PlainInteger(float64(x)); ok {
			return intNumeral(i), true
		}
		return floatNumeral(float64(x)), true
	case *lua.LUserData:
		if i, ok := BigInteger(x); ok {
			return intNumeral(i), true
		}
	}
	return numeral{}, false
}

// coerceNumeral is numeralOf plus Lua's string→number coercion.
func coerceNumeral(v lua.LValue) (numeral, bool) {
	if s, ok := v.(lua.LString); ok {
		return stringToNumeral(string(s))
	}
	return numeralOf(v)
}

// newIntMeta builds the shared metatable of boxed integers.
func newIntMeta() *lua.LTable {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	mt := L.NewTable()
	for op := range numOps {
		if ev := metaEvents[op]; ev != "" && op != opEq {
			mt.RawSetString(ev, L.NewFunction(metaHandler(op)))
		}
	}
	mt.RawSetString("__concat", L.NewFunction(intConcat))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		s, _ := FormatValue(L.Get(1))
		L.Push(lua.LString(s))
		return 1
	}))
	// getmetatable(n) gives false, and setmetatable refuses to replace it.
	mt.RawSetString("__metatable", lua.LFalse)
	return mt
}

// metaHandler is the metamethod of op for boxed integers.
func metaHandler(op int) lua.LGFunction {
	return func(L *lua.LState) int {
		a := L.Get(1)
		b := a
		if op != opUnm && op != opBnot {
			b = L.Get(2)
		}
		if op == opLt || op == opLe {
			L.Push(lua.LBool(compareValues(L, op, a, b)))
			return 1
		}
		L.Push(arithValues(L, op, a, b))
		return 1
	}
}

// intConcat is __concat when an operand is a boxed integer.
func intConcat(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	sa, oka := concatText(a)
	sb, okb := concatText(b)
	if oka && okb {
		L.Push(lua.LString(sa + sb))
		return 1
	}
	// The other operand may have its own __concat (real Lua numbers have
	// none, so it would be the one called).
	other := a
	if oka {
		other = b
	}
	if _, isBox := BigInteger(other); !isBox {
		if mm := L.GetMetaField(other, "__concat"); mm != lua.LNil {
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			return 1
		}
	}
	L.RaiseError("attempt to concatenate a %s value", TypeName(other))
	return 0
}

func concatText(v lua.LValue) (string, bool) {
	if s, ok := v.(lua.LString); ok {
		return string(s), true
	}
	return FormatValue(v)
}

// cmpIntFloat compares an integer with a float exactly (Lua's LTintfloat
// and friends): -1, 0 or +1; ok is false when f is NaN.
func cmpIntFloat(i int64, f float64) (c int, ok bool) {
	switch {
	case math.IsNaN(f):
		return 0, false
	case f >= 9223372036854775808.0:
		return -1, true
	case f < -9223372036854775808.0:
		return 1, true
	}
	fl := math.Floor(f)
	fi := int64(fl)
	switch {
	case i < fi:
		return -1, true
	case i > fi:
		return 1, true
	case f > fl:
		return -1, true
	}
	return 0, true
}
