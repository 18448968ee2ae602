package lua54

import (
	"math"
	"strconv"
	"strings"
)

// parseNumeral converts a Lua numeral (no sign, no surrounding space) the
// way Lua 5.4's lexer reads it: decimal integers that overflow int64 become
// floats, hexadecimal integers wrap around modulo 2^64, hexadecimal floats
// ("0x1.8p+1", "0xA.8") are exact.
func parseNumeral(s string) (numeral, bool) {
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return parseHex(s[2:])
	}
	return parseDecimal(s)
}

func parseDecimal(s string) (numeral, bool) {
	digits, isInt := 0, true
	i := 0
	for i < len(s) && isDigit(int(s[i])) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		for i < len(s) && isDigit(int(s[i])) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return numeral{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(int(s[i])) {
			return numeral{}, false
		}
		for i < len(s) && isDigit(int(s[i])) {
			i++
		}
	}
	if i != len(s) {
		return numeral{}, false
	}
	return decimalValue(s, isInt)
}

// decimalValue converts a well-formed decimal numeral: as an int64 first
// when tryInt is set and it fits, else as the nearest float64 (an
// out-of-range value becomes ±Inf, as in Lua).
func decimalValue(s string, tryInt bool) (numeral, bool) {
	if tryInt {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intNumeral(v), true
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return numeral{}, false
	}
	return floatNumeral(v), true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseHex parses the part of a hexadecimal numeral after "0x".
func parseHex(s string) (numeral, bool) {
	i, digits := 0, 0
	isInt := true
	var u uint64
	for i < len(s) && isXDigit(int(s[i])) {
		u = u<<4 | uint64(hexVal(int(s[i])))
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		for i < len(s) && isXDigit(int(s[i])) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return numeral{}, false
	}
	mant := s[:i]
	exp := "0"
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		isInt = false
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j == len(s) {
			return numeral{}, false
		}
		for k := j; k < len(s); k++ {
			if !isDigit(int(s[k])) {
				return numeral{}, false
			}
		}
		exp = s[i+1:]
		i = len(s)
	}
	if i != len(s) {
		return numeral{}, false
	}
	if isInt {
		return intNumeral(int64(u)), true
	}
	if strings.HasPrefix(mant, ".") {
		mant = "0" + mant
	}
	if strings.HasSuffix(mant, ".") {
		mant += "0"
	}
	v, err := strconv.ParseFloat("0x"+mant+"p"+exp, 64)
	if err != nil && !isRangeErr(err) {
		return numeral{}, false
	}
	return floatNumeral(v), true
}

// stringToNumeral converts a string to a number following Lua 5.4's
// string→number coercion (tonumber without base): surrounding whitespace
// and one leading sign are allowed; "inf"/"nan" are rejected.
func stringToNumeral(s string) (numeral, bool) {
	s = strings.Trim(s, " \t\n\r\f\v")
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || !(isDigit(int(s[0])) || s[0] == '.') {
		return numeral{}, false
	}
	if neg {
		// "-9223372036854775808" is math.mininteger, as Lua's l_str2int
		// reads the sign with the digits.
		if v, err := strconv.ParseInt("-"+s, 10, 64); err == nil {
			return intNumeral(v), true
		}
	}
	n, ok := parseNumeral(s)
	if neg {
		n = negate(n)
	}
	return n, ok
}

// StringToNumber is stringToNumeral's value as a float64 (integers beyond
// ±2^53 round; StringToValue keeps them exact).
func StringToNumber(s string) (float64, bool) {
	n, ok := stringToNumeral(s)
	return n.float(), ok
}

// negate is unary minus: integers wrap around (-math.mininteger is
// math.mininteger); a float zero stays 0 (the float carrier prints -0.0 as
// 0 anyway).
func negate(n numeral) numeral {
	if n.isInt {
		return intNumeral(-n.i)
	}
	if n.f == 0 {
		return floatNumeral(0)
	}
	return floatNumeral(-n.f)
}

// numberLiteral renders a numeral as a NumberExpr value that gopher-lua's
// compiler reads back exactly and literalValue reads back as the same kind
// (an integer as digits, a float always with '.', an exponent or Inf), or
// "" if it cannot (NaN).
func numberLiteral(n numeral) string {
	if n.isInt {
		return strconv.FormatInt(n.i, 10)
	}
	v := n.f
	switch {
	case math.IsNaN(v):
		return ""
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// FormatNumber renders a plain number the way Lua 5.4's tostring does:
// integral values within ±2^53 print as integers ("3"; the float carrier
// cannot tell 3.0), integers beyond are boxed, so plain values beyond are
// floats,
// everything else with "%.14g" ("0.1", "1e+100", "inf", "-nan" as "nan"
// or "-nan" following the sign bit, as glibc prints it).
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		if math.Signbit(v) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if i, ok := PlainInteger(v); ok {
		return strconv.FormatInt(i, 10)
	}
	return formatG14(v)
}

// formatG14 is C's printf("%.14g").
func formatG14(v float64) string {
	s := strconv.FormatFloat(v, 'e', 13, 64)
	// s is like "-1.2345678901234e+05"
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 14 {
		mant = trimFracZeros(mant)
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	return trimFracZeros(strconv.FormatFloat(v, 'f', 13-exp, 64))
}

func trimFracZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// PlainInteger reports whether a plain number is an integer: integral and
// within ±2^53. Beyond ±2^53 integers are boxed, so a plain number there is
// a float (2^60, 1e16, or + - * of plain numbers that left the range).
func PlainInteger(v float64) (int64, bool) {
	if v != math.Trunc(v) || v < -maxExact || v > maxExact {
		return 0, false
	}
	return int64(v), true
}

// toInteger reports whether v is integral and within int64 range: whether
// a float has an exact integer representation (lua_Number to lua_Integer
// conversion for bitwise operands, math.tointeger, %d).
func toInteger(v float64) (int64, bool) {
	if v != math.Trunc(v) || v < -9223372036854775808.0 || v >= 9223372036854775808.0 {
		return 0, false
	}
	return int64(v), true
}
