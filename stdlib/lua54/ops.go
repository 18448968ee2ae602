package lua54

import (
	"errors"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// Lowered operator codes.
const (
	opBand = iota
	opBor
	opBxor
	opShl
	opShr
	opBnot
	opIdiv
	numOps
)

var helperNames = [numOps]string{"band", "bor", "bxor", "shl", "shr", "bnot", "idiv"}

var metaEvents = [numOps]string{"__band", "__bor", "__bxor", "__shl", "__shr", "__bnot", "__idiv"}

var errNoInteger = errors.New("number has no integer representation")

// arith computes a lowered operator on two numbers with Lua 5.4 semantics.
// Bitwise operators and integer floor division work on int64; the result
// is converted back to the float64 carrier (exact while |result| ≤ 2^53).
func arith(op int, a, b float64) (float64, error) {
	if op == opIdiv {
		x, okx := toInteger(a)
		y, oky := toInteger(b)
		if !okx || !oky || y == 0 {
			// Float division; an integral zero divisor cannot be told
			// apart from 0.0 on the float carrier, so x // 0 gives
			// ±inf or nan (Lua 5.4 raises for integer operands).
			return math.Floor(a / b), nil
		}
		return float64(IntFloorDiv(x, y)), nil
	}
	x, ok := bitInteger(a)
	if !ok {
		return 0, errNoInteger
	}
	if op == opBnot {
		return float64(^x), nil
	}
	y, ok := bitInteger(b)
	if !ok {
		return 0, errNoInteger
	}
	var r int64
	switch op {
	case opBand:
		r = x & y
	case opBor:
		r = x | y
	case opBxor:
		r = x ^ y
	case opShl:
		r = ShiftLeft(x, y)
	case opShr:
		r = ShiftLeft(x, negShift(y))
	}
	return float64(r), nil
}

// bitInteger converts a bitwise operand. 2^63 is read as math.maxinteger:
// on the float carrier that is what math.maxinteger (and any integer
// result rounding up to 2^63) looks like.
func bitInteger(v float64) (int64, bool) {
	if v == 9223372036854775808.0 {
		return math.MaxInt64, true
	}
	return toInteger(v)
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

// newHelper returns the Go function a lowered operator compiles to.
func newHelper(L *lua.LState, op int) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		a := L.Get(1)
		b := a
		if op != opBnot {
			b = L.Get(2)
		}
		if an, ok := a.(lua.LNumber); ok {
			if bn, ok := b.(lua.LNumber); ok {
				v, err := arith(op, float64(an), float64(bn))
				if err != nil {
					L.RaiseError("%s", err.Error())
				}
				L.Push(lua.LNumber(v))
				return 1
			}
		}
		return slowOp(L, op, a, b)
	})
}

// slowOp handles non-number operands: string coercion for '//', then the
// metamethods, then the error Lua raises.
func slowOp(L *lua.LState, op int, a, b lua.LValue) int {
	event := metaEvents[op]
	for _, o := range []lua.LValue{a, b} {
		if mm := L.GetMetaField(o, event); mm != lua.LNil {
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			return 1
		}
	}
	if op == opIdiv {
		x, okx := coerce(a)
		y, oky := coerce(b)
		if okx && oky {
			v, err := arith(op, x, y)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			L.Push(lua.LNumber(v))
			return 1
		}
		if _, isStr := a.(lua.LString); isStr {
			L.RaiseError("attempt to idiv a '%s' with a '%s'", a.Type(), b.Type())
		}
		if _, isStr := b.(lua.LString); isStr {
			L.RaiseError("attempt to idiv a '%s' with a '%s'", a.Type(), b.Type())
		}
		bad := a
		if _, ok := a.(lua.LNumber); ok {
			bad = b
		}
		L.RaiseError("attempt to perform arithmetic on a %s value", bad.Type())
	}
	bad := a
	if _, ok := a.(lua.LNumber); ok {
		bad = b
	}
	L.RaiseError("attempt to perform bitwise operation on a %s value", bad.Type())
	return 0
}

func coerce(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return StringToNumber(string(x))
	}
	return 0, false
}
