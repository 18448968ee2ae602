package stdlib

import (
	"errors"
	"math"
	"strconv"

	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// errNotFast reports input outside the subset Unmarshal reads natively.
var errNotFast = errors.New("stdlib: not in the marshal subset")

// maxUnmarshalDepth bounds table nesting on the native path; deeper input
// goes to the Lua loader, which reports its own limit.
const maxUnmarshalDepth = 180

// Unmarshal reads s, the output of Marshal, natively: it returns the values
// that `load("return " .. s, "=(unmarshal)", "t", {})()` would, and
// ok = false (with no values) when s is not in the subset it reads, which
// is exactly the text Marshal produces: nil, booleans, decimal and hex
// integers, C hex floats, 0/0, 1/0, -1/0, -0.0, strings with \" \\
// \<newline> and \ddd escapes, and table constructors whose entries are
// "value," or "[key]=value,", with no white space. Such text needs no Lua
// evaluation, and reading it natively avoids gopher-lua's compiler, which
// is quadratic in the number of constants of a chunk.
func Unmarshal(L *lua.LState, s string) (values []lua.LValue, ok bool) {
	if s == "" {
		return nil, true
	}
	u := unmarshaler{L: L, s: s, poll: pollOf(L)}
	for {
		v, err := u.value(0)
		if err != nil {
			return nil, false
		}
		values = append(values, v)
		if u.i == len(s) {
			return values, true
		}
		if s[u.i] != ',' {
			return nil, false
		}
		u.i++
	}
}

type unmarshaler struct {
	L    *lua.LState
	s    string
	i    int
	poll budgetPoll // the budget, polled once per value
}

func (u *unmarshaler) has(tok string) bool {
	if len(u.s)-u.i >= len(tok) && u.s[u.i:u.i+len(tok)] == tok {
		u.i += len(tok)
		return true
	}
	return false
}

func (u *unmarshaler) value(depth int) (lua.LValue, error) {
	if u.poll.tick() {
		return nil, errBudgetEnded{}
	}
	if u.i >= len(u.s) {
		return nil, errNotFast
	}
	switch c := u.s[u.i]; {
	case c == '"':
		return u.str()
	case c == '{':
		return u.table(depth + 1)
	case c == 'n' && u.has("nil"):
		return lua.LNil, nil
	case c == 't' && u.has("true"):
		return lua.LTrue, nil
	case c == 'f' && u.has("false"):
		return lua.LFalse, nil
	case c == '-' || c >= '0' && c <= '9':
		return u.number()
	}
	return nil, errNotFast
}

func (u *unmarshaler) number() (lua.LValue, error) {
	switch {
	case u.has("0/0"):
		return lua.LNumber(math.NaN()), nil
	case u.has("1/0"):
		return lua.LNumber(math.Inf(1)), nil
	case u.has("-1/0"):
		return lua.LNumber(math.Inf(-1)), nil
	case u.has("-0.0"):
		return lua.LNumber(math.Copysign(0, -1)), nil
	}
	start := u.i
	neg := u.has("-")
	if u.has("0x") {
		digits := u.i
		for u.i < len(u.s) && isHex(u.s[u.i]) {
			u.i++
		}
		if u.i < len(u.s) && (u.s[u.i] == '.' || u.s[u.i] == 'p') {
			return u.hexFloat(start)
		}
		h := u.s[digits:u.i]
		if h == "" || len(h) > 16 {
			return nil, errNotFast
		}
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return nil, errNotFast
		}
		// Hex integers wrap around modulo 2^64, as Lua reads them.
		i := int64(v)
		if neg {
			i = -i
		}
		return lua54.Integer(i), nil
	}
	digits := u.i
	for u.i < len(u.s) && u.s[u.i] >= '0' && u.s[u.i] <= '9' {
		u.i++
	}
	d := u.s[digits:u.i]
	if d == "" || len(d) > 18 || len(d) > 1 && d[0] == '0' {
		return nil, errNotFast
	}
	if u.i < len(u.s) && (u.s[u.i] == '.' || u.s[u.i] == 'e' || u.s[u.i] == 'E' || u.s[u.i] == 'x') {
		return nil, errNotFast
	}
	v, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		return nil, errNotFast
	}
	if neg {
		if v == 0 {
			return nil, errNotFast // "-0" is an integer zero in 5.4, a -0.0 in 5.1
		}
		v = -v
	}
	return lua54.Integer(v), nil
}

// hexFloat reads the rest of a C hex float ("0x1.8p+0") starting at start.
func (u *unmarshaler) hexFloat(start int) (lua.LValue, error) {
	if u.has(".") {
		n := u.i
		for u.i < len(u.s) && isHex(u.s[u.i]) {
			u.i++
		}
		if u.i == n {
			return nil, errNotFast
		}
	}
	if !u.has("p") {
		return nil, errNotFast
	}
	if !u.has("+") {
		u.has("-")
	}
	n := u.i
	for u.i < len(u.s) && u.s[u.i] >= '0' && u.s[u.i] <= '9' {
		u.i++
	}
	if u.i == n || u.i-n > 4 {
		return nil, errNotFast
	}
	f, err := strconv.ParseFloat(u.s[start:u.i], 64)
	if err != nil {
		return nil, errNotFast
	}
	return lua.LNumber(f), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (u *unmarshaler) str() (lua.LValue, error) {
	u.i++
	start := u.i
	var b []byte // only allocated once an escape is seen
	for u.i < len(u.s) {
		c := u.s[u.i]
		switch {
		case c == '"':
			var s string
			if b == nil {
				s = u.s[start:u.i]
			} else {
				s = string(b)
			}
			u.i++
			return lua.LString(s), nil
		case c == '\\':
			if b == nil {
				b = append([]byte(nil), u.s[start:u.i]...)
			}
			if u.i+1 >= len(u.s) {
				return nil, errNotFast
			}
			d := u.s[u.i+1]
			switch {
			case d == '"' || d == '\\' || d == '\n':
				b = append(b, d)
				u.i += 2
			case u.i+4 <= len(u.s) && isDigit3(u.s[u.i+1:u.i+4]):
				n := int(u.s[u.i+1]-'0')*100 + int(u.s[u.i+2]-'0')*10 + int(u.s[u.i+3]-'0')
				if n > 255 {
					return nil, errNotFast
				}
				b = append(b, byte(n))
				u.i += 4
			default:
				return nil, errNotFast
			}
		case c == '\n' || c == '\r':
			return nil, errNotFast
		default:
			if b != nil {
				b = append(b, c)
			}
			u.i++
		}
	}
	return nil, errNotFast
}

func isDigit3(s string) bool {
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (u *unmarshaler) table(depth int) (lua.LValue, error) {
	if depth > maxUnmarshalDepth {
		return nil, errNotFast
	}
	u.i++
	t := u.L.NewTable()
	n := 0
	var keyed []float64 // integral number keys, checked against positions
	for {
		if u.has("}") {
			for _, k := range keyed {
				if k >= 1 && k <= float64(n) {
					// Lua orders such collisions by its SETLIST batches
					return nil, errNotFast
				}
			}
			return t, nil
		}
		if u.has("[") {
			k, err := u.value(depth)
			if err != nil || !u.has("]=") {
				return nil, errNotFast
			}
			switch kv := k.(type) {
			case *lua.LNilType:
				return nil, errNotFast
			case lua.LNumber:
				f := float64(kv)
				if f != f || f == 0 && math.Signbit(f) {
					return nil, errNotFast
				}
				if f == math.Trunc(f) {
					keyed = append(keyed, f)
				}
			}
			v, err := u.value(depth)
			if err != nil {
				return nil, err
			}
			t.RawSet(k, v)
		} else {
			v, err := u.value(depth)
			if err != nil {
				return nil, err
			}
			n++
			t.RawSetInt(n, v)
		}
		if !u.has(",") {
			// the last entry may omit its comma
			if u.i < len(u.s) && u.s[u.i] == '}' {
				continue
			}
			return nil, errNotFast
		}
	}
}

// nativeUnmarshal is Unmarshal for Lua: ok, values... or just false.
func nativeUnmarshal(L *lua.LState) int {
	values, ok := Unmarshal(L, L.CheckString(1))
	if p := pollOf(L); !ok && p.ended() {
		raiseBudget(L) // not a slow path to take: the budget is spent
	}
	if !ok {
		L.Push(lua.LFalse)
		return 1
	}
	L.Push(lua.LTrue)
	for _, v := range values {
		L.Push(v)
	}
	return len(values) + 1
}
