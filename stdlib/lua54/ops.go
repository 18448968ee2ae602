package lua54

import (
	"errors"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// Operator codes. The first group is lowered by the parser to helper calls
// (helperNames); all of them are metamethods of boxed integers (metaEvents).
const (
	opBand = iota
	opBor
	opBxor
	opShl
	opShr
	opBnot
	opIdiv
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opMod
	opDiv
	opPow
	opUnm
	opEq // never dispatched: interned boxes compare by identity
	numOps
)

// helperNames names the helper of each lowered operator ("" = not lowered).
var helperNames = [numOps]string{
	opBand: "band", opBor: "bor", opBxor: "bxor", opShl: "shl", opShr: "shr",
	opBnot: "bnot", opIdiv: "idiv", opLt: "lt", opLe: "le", opGt: "gt", opGe: "ge",
}

// metaEvents is the metamethod event of each operator; > and >= use __lt
// and __le with swapped operands, and have no box metamethod of their own.
var metaEvents = [numOps]string{
	opBand: "__band", opBor: "__bor", opBxor: "__bxor", opShl: "__shl", opShr: "__shr",
	opBnot: "__bnot", opIdiv: "__idiv", opLt: "__lt", opLe: "__le",
	opAdd: "__add", opSub: "__sub", opMul: "__mul", opMod: "__mod", opDiv: "__div",
	opPow: "__pow", opUnm: "__unm",
}

var (
	errNoInteger  = errors.New("number has no integer representation")
	errModZero    = errors.New("attempt to perform 'n%0'")
	errDivideZero = errors.New("attempt to divide by zero")
)

func isBitwise(op int) bool { return op <= opBnot }

// arithNumerals computes an arithmetic or bitwise operator on two numbers
// with Lua 5.4 semantics: bitwise operators and integer // and % work on
// int64 and wrap; + - * wrap when both operands are integers; / and ^ and
// anything with a float operand are float operations.
func arithNumerals(op int, a, b numeral) (numeral, error) {
	if isBitwise(op) {
		x, ok := a.integer()
		if !ok {
			return numeral{}, errNoInteger
		}
		if op == opBnot {
			return intNumeral(^x), nil
		}
		y, ok := b.integer()
		if !ok {
			return numeral{}, errNoInteger
		}
		switch op {
		case opBand:
			return intNumeral(x & y), nil
		case opBor:
			return intNumeral(x | y), nil
		case opBxor:
			return intNumeral(x ^ y), nil
		case opShl:
			return intNumeral(ShiftLeft(x, y)), nil
		default:
			return intNumeral(ShiftLeft(x, negShift(y))), nil
		}
	}
	if a.isInt && b.isInt {
		x, y := a.i, b.i
		switch op {
		case opAdd:
			return intNumeral(x + y), nil
		case opSub:
			return intNumeral(x - y), nil
		case opMul:
			return intNumeral(x * y), nil
		case opUnm:
			return intNumeral(-x), nil
		case opIdiv:
			if y == 0 {
				// Lua's error. With two plain operands the callers
				// divide as floats instead: the float carrier cannot
				// tell 0 from 0.0.
				return numeral{}, errDivideZero
			}
			return intNumeral(IntFloorDiv(x, y)), nil
		case opMod:
			if y == 0 {
				return numeral{}, errModZero
			}
			return intNumeral(intMod(x, y)), nil
		}
	}
	x, y := a.float(), b.float()
	switch op {
	case opAdd:
		return floatNumeral(x + y), nil
	case opSub:
		return floatNumeral(x - y), nil
	case opMul:
		return floatNumeral(x * y), nil
	case opUnm:
		return floatNumeral(-x), nil
	case opDiv:
		return floatNumeral(x / y), nil
	case opPow:
		return floatNumeral(math.Pow(x, y)), nil
	case opIdiv:
		return floatNumeral(math.Floor(x / y)), nil
	default: // opMod
		return floatNumeral(floatMod(x, y)), nil
	}
}

// integer is the operand conversion of bitwise operators: integers, and
// floats with an exact integer value.
func (n numeral) integer() (int64, bool) {
	if n.isInt {
		return n.i, true
	}
	return toInteger(n.f)
}

// intMod is Lua's integer modulo (the result has the divisor's sign); y
// must not be 0.
func intMod(x, y int64) int64 {
	if y == -1 {
		return 0 // avoids the MinInt64 % -1 trap
	}
	m := x % y
	if m != 0 && (m^y) < 0 {
		m += y
	}
	return m
}

// floatMod is Lua's float modulo (luai_nummod).
func floatMod(x, y float64) float64 {
	m := math.Mod(x, y)
	if m != 0 && (m > 0) != (y > 0) {
		m += y
	}
	return m
}

func negShift(y int64) int64 {
	if y == math.MinInt64 {
		return math.MaxInt64
	}
	return -y
}

// ShiftLeft is Lua 5.4's luaV_shiftl: a logical shift of x by n bits to the
// left (right when n is negative); shifts of 64 or more bits give 0.
func ShiftLeft(x, n int64) int64 {
	switch {
	case n <= -64 || n >= 64:
		return 0
	case n >= 0:
		return int64(uint64(x) << uint(n))
	default:
		return int64(uint64(x) >> uint(-n))
	}
}

// IntFloorDiv is Lua 5.4's integer floor division (y must not be 0);
// math.mininteger // -1 wraps to math.mininteger.
func IntFloorDiv(x, y int64) int64 {
	if y == -1 {
		return -x // wraps for MinInt64
	}
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

// newHelper returns the Go function a lowered operator compiles to. Two
// plain numbers take the fast path; everything else goes through
// arithValues or compareValues.
func newHelper(L *lua.LState, op int) *lua.LFunction {
	switch op {
	case opLt, opLe, opGt, opGe:
		return L.NewFunction(func(L *lua.LState) int {
			a, b := L.Get(1), L.Get(2)
			if an, ok := a.(lua.LNumber); ok {
				if bn, ok := b.(lua.LNumber); ok {
					L.Push(lua.LBool(numberOrder(op, an, bn)))
					return 1
				}
			}
			L.Push(lua.LBool(compareValues(L, op, a, b)))
			return 1
		})
	}
	return L.NewFunction(func(L *lua.LState) int {
		a := L.Get(1)
		b := a
		if op != opBnot {
			b = L.Get(2)
		}
		if an, ok := a.(lua.LNumber); ok {
			if bn, ok := b.(lua.LNumber); ok {
				if op == opIdiv && bn == 0 {
					// x // 0 on plain numbers: the float carrier cannot
					// tell 0 from 0.0, so this is float division.
					L.Push(lua.LNumber(math.Floor(float64(an) / float64(bn))))
					return 1
				}
				r, err := arithNumerals(op, plainNumeral(an), plainNumeral(bn))
				if err != nil {
					L.RaiseError("%s", err.Error())
				}
				L.Push(r.value())
				return 1
			}
		}
		L.Push(arithValues(L, op, a, b))
		return 1
	})
}

func plainNumeral(n lua.LNumber) numeral {
	if i, ok := PlainInteger(float64(n)); ok {
		return intNumeral(i)
	}
	return floatNumeral(float64(n))
}

func numberOrder(op int, a, b lua.LNumber) bool {
	switch op {
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	}
	return a >= b
}

// arithValues applies an arithmetic or bitwise operator to any two Lua
// values: numbers (plain or boxed), numeric strings for arithmetic, then
// the metamethods of operands that are not boxed integers, then Lua's
// error.
func arithValues(L *lua.LState, op int, a, b lua.LValue) lua.LValue {
	na, oka := numeralOf(a)
	nb, okb := numeralOf(b)
	if !isBitwise(op) {
		if !oka {
			na, oka = coerceNumeral(a)
		}
		if !okb {
			nb, okb = coerceNumeral(b)
		}
	}
	if oka && okb {
		if op == opIdiv && !isBoxed(a) && !isBoxed(b) && nb.isInt && nb.i == 0 {
			// Two plain operands: x // 0 cannot be told from x // 0.0.
			return lua.LNumber(math.Floor(na.float() / nb.float()))
		}
		r, err := arithNumerals(op, na, nb)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		return r.value()
	}
	event := metaEvents[op]
	for _, o := range []lua.LValue{a, b} {
		if _, isBox := BigInteger(o); isBox {
			continue
		}
		if mm := L.GetMetaField(o, event); mm != lua.LNil {
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			r := L.Get(-1)
			L.Pop(1)
			return r
		}
	}
	raiseArith(L, op, a, b, oka)
	return lua.LNil
}

// isBoxed reports whether v is a boxed integer.
func isBoxed(v lua.LValue) bool {
	_, ok := BigInteger(v)
	return ok
}

// raiseArith raises the error Lua 5.4 gives for an operator on operands
// that are not both numbers.
func raiseArith(L *lua.LState, op int, a, b lua.LValue, aIsNumber bool) {
	bad := a
	if aIsNumber {
		bad = b
	}
	if isBitwise(op) {
		if IsNumber(a) && IsNumber(b) {
			L.RaiseError("%s", errNoInteger.Error())
		}
		if IsNumber(a) {
			bad = b
		} else {
			bad = a
		}
		L.RaiseError("attempt to perform bitwise operation on a %s value", TypeName(bad))
	}
	_, sa := a.(lua.LString)
	_, sb := b.(lua.LString)
	if sa || sb {
		// Lua 5.4's string metamethods word it this way.
		L.RaiseError("attempt to %s a '%s' with a '%s'", metaEvents[op][2:], TypeName(a), TypeName(b))
	}
	L.RaiseError("attempt to perform arithmetic on a %s value", TypeName(bad))
}

// compareValues is Lua 5.4's < <= > >= for any two values: numbers exactly
// (a boxed integer against a float compares the mathematical values),
// strings byte-wise, then __lt/__le of the first operand that has one.
func compareValues(L *lua.LState, op int, a, b lua.LValue) bool {
	if op == opGt || op == opGe {
		a, b = b, a
		op -= opGt - opLt
	}
	if na, ok := numeralOf(a); ok {
		if nb, ok := numeralOf(b); ok {
			c, ordered := cmpNumerals(na, nb)
			if !ordered {
				return false
			}
			if op == opLt {
				return c < 0
			}
			return c <= 0
		}
	}
	if sa, ok := a.(lua.LString); ok {
		if sb, ok := b.(lua.LString); ok {
			if op == opLt {
				return sa < sb
			}
			return sa <= sb
		}
	}
	if r, ok := callOrderMeta(L, metaEvents[op], a, b); ok {
		return r
	}
	if op == opLe {
		// Lua 5.4 built with LUA_COMPAT_LT_LE (Debian's is): a <= b is
		// not (b < a) when there is no __le.
		if r, ok := callOrderMeta(L, "__lt", b, a); ok {
			return !r
		}
	}
	ta, tb := TypeName(a), TypeName(b)
	if ta == tb {
		L.RaiseError("attempt to compare two %s values", ta)
	}
	L.RaiseError("attempt to compare %s with %s", ta, tb)
	return false
}

// callOrderMeta calls the event metamethod of the first of a, b that is
// not a boxed integer and has one.
func callOrderMeta(L *lua.LState, event string, a, b lua.LValue) (result, ok bool) {
	for _, o := range []lua.LValue{a, b} {
		if _, isBox := BigInteger(o); isBox {
			continue
		}
		if mm := L.GetMetaField(o, event); mm != lua.LNil {
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			r := lua.LVAsBool(L.Get(-1))
			L.Pop(1)
			return r, true
		}
	}
	return false, false
}

// cmpNumerals compares two numbers exactly; ordered is false if one is NaN.
func cmpNumerals(a, b numeral) (c int, ordered bool) {
	switch {
	case a.isInt && b.isInt:
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	case a.isInt:
		return cmpIntFloat(a.i, b.f)
	case b.isInt:
		c, ok := cmpIntFloat(b.i, a.f)
		return -c, ok
	}
	switch {
	case math.IsNaN(a.f) || math.IsNaN(b.f):
		return 0, false
	case a.f < b.f:
		return -1, true
	case a.f > b.f:
		return 1, true
	}
	return 0, true
}
