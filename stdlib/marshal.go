package stdlib

import (
	"errors"
	"math"
	"strconv"

	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// ErrCircular is returned by Marshal for a table reachable from itself.
var ErrCircular = errors.New("circular referenced table is not marshallable")

// decimalLimit is the largest magnitude marshal prints in decimal.
const decimalLimit = 999999999999

// Marshal serialises values in the format of the original's marshal(): Lua
// expressions separated by commas that "return "..s reproduces.
//
// Numbers: integers (boxed integers beyond ±2^53, and integral plain
// numbers within ±2^53, which the float carrier cannot tell from integers)
// are written as Lua 5.4 writes integers (decimal up to
// 999999999999 in magnitude, signed lowercase hex above, -2^63 as
// 0x8000000000000000); +0.0 is "0", -0.0 "-0.0", NaN "0/0", infinities
// "1/0" and "-1/0", and every other float a C-style hex float such as
// 0x1.8p+0. Functions, userdata, threads and channels are errors, as are
// cycles; metatables are ignored.
func Marshal(L *lua.LState, values ...lua.LValue) (string, error) {
	m := marshaler{L: L, poll: pollOf(L)}
	for i, v := range values {
		if i > 0 {
			m.b = append(m.b, ',')
		}
		if err := m.value(v); err != nil {
			return "", err
		}
	}
	return string(m.b), nil
}

type marshaler struct {
	L    *lua.LState
	b    []byte
	path []*lua.LTable        // tables being written, outermost first
	deep map[*lua.LTable]bool // the same, once path is long
	poll budgetPoll           // the budget, polled once per value
}

// enter records t as being written; false means t is its own ancestor.
func (m *marshaler) enter(t *lua.LTable) bool {
	if m.deep != nil {
		if m.deep[t] {
			return false
		}
		m.deep[t] = true
	} else {
		for _, a := range m.path {
			if a == t {
				return false
			}
		}
		if len(m.path) == 32 {
			m.deep = make(map[*lua.LTable]bool)
			for _, a := range m.path {
				m.deep[a] = true
			}
			m.deep[t] = true
		}
	}
	m.path = append(m.path, t)
	return true
}

func (m *marshaler) leave() {
	t := m.path[len(m.path)-1]
	m.path = m.path[:len(m.path)-1]
	if m.deep != nil {
		delete(m.deep, t)
		if len(m.path) < 32 {
			m.deep = nil
		}
	}
}

func (m *marshaler) value(v lua.LValue) error {
	if m.poll.tick() {
		return errBudgetEnded{} // shared subtables make output exponential
	}
	switch v := v.(type) {
	case *lua.LNilType:
		m.b = append(m.b, "nil"...)
	case lua.LBool:
		m.b = strconv.AppendBool(m.b, bool(v))
	case lua.LNumber:
		m.b = appendNumber(m.b, float64(v))
	case lua.LString:
		m.b = appendQuoted(m.b, string(v))
	case *lua.LUserData:
		i, ok := lua54.BigInteger(v)
		if !ok {
			return errors.New(m.L.ToStringMeta(v).String() + " is not marshallable")
		}
		m.b = appendInteger(m.b, i)
	case *lua.LTable:
		return m.table(v)
	default:
		return errors.New(m.L.ToStringMeta(v).String() + " is not marshallable")
	}
	return nil
}

func (m *marshaler) table(t *lua.LTable) error {
	if !m.enter(t) {
		return ErrCircular
	}
	m.b = append(m.b, '{')
	next := 1.0
	k, v := t.Next(lua.LNil)
	for k != lua.LNil {
		if n, ok := k.(lua.LNumber); ok && float64(n) == next {
			next++
		} else {
			m.b = append(m.b, '[')
			if err := m.value(k); err != nil {
				return err
			}
			m.b = append(m.b, "]="...)
		}
		if err := m.value(v); err != nil {
			return err
		}
		m.b = append(m.b, ',')
		k, v = t.Next(k)
	}
	m.b = append(m.b, '}')
	m.leave()
	return nil
}

// appendNumber appends f in marshal's number format.
func appendNumber(b []byte, f float64) []byte {
	switch {
	case f != f:
		return append(b, "0/0"...)
	case math.IsInf(f, 1):
		return append(b, "1/0"...)
	case math.IsInf(f, -1):
		return append(b, "-1/0"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, '0')
	case f == math.Trunc(f) && f >= -(1<<53) && f <= 1<<53:
		return appendInteger(b, int64(f))
	}
	return appendHexFloat(b, f)
}

// appendInteger appends i in marshal's integer format.
func appendInteger(b []byte, i int64) []byte {
	switch {
	case i == math.MinInt64:
		return append(b, "0x8000000000000000"...)
	case i >= -decimalLimit && i <= decimalLimit:
		return strconv.AppendInt(b, i, 10)
	case i < 0:
		b = append(b, "-0x"...)
		return strconv.AppendUint(b, uint64(-i), 16)
	default:
		b = append(b, "0x"...)
		return strconv.AppendUint(b, uint64(i), 16)
	}
}

// appendHexFloat appends f like C's printf("%a"): no trailing zeros in the
// fraction, decimal exponent without leading zeros.
func appendHexFloat(b []byte, f float64) []byte {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'x', -1, 64) // e.g. -0x1.8p+01
	p := 0
	for s[p] != 'p' {
		p++
	}
	b = append(b, s[:p+2]...) // mantissa, 'p' and the exponent sign
	e := s[p+2:]
	for len(e) > 1 && e[0] == '0' {
		e = e[1:]
	}
	return append(b, e...)
}

// appendQuoted appends s as a marshal string literal: `"` and `\` escaped,
// a newline as backslash-newline, other control bytes and 0x7F as \ddd,
// everything else raw.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func luaMarshal(L *lua.LState) int {
	n := L.GetTop()
	m := marshaler{L: L, poll: pollOf(L)}
	for i := 1; i <= n; i++ {
		if i > 1 {
			m.b = append(m.b, ',')
		}
		if err := m.value(L.Get(i)); errors.Is(err, errBudgetEnded{}) {
			raiseBudget(L)
		} else if err != nil {
			L.Error(lua.LString(err.Error()), 0)
		}
	}
	L.Push(lua.LString(m.b))
	return 1
}
