package dsl

import (
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/lpattern"
)

// This file holds the few Lua library functions whose exact behaviour the
// engine must share with the Lua back end: string.find and string.gsub
// with Lua patterns (through core/lpattern, the matcher the Lua engine's
// string library runs on, so both engines match identically) and
// tonumber.

// patFind reports whether Lua pattern p matches somewhere in s, as
// `s:find(p)` (an empty pattern matches at 1).
func patFind(p, s string) (ok bool, err error) {
	if p == "" {
		return true, nil
	}
	var m lpattern.Matcher
	m.Reset(s, p)
	pi, anchor := 0, p[0] == '^'
	if anchor {
		pi = 1
	}
	start, _, err := m.Scan(0, pi, anchor)
	if err != nil {
		return false, err
	}
	return start >= 0, nil
}

// checkPattern validates a Lua pattern at compile time.
func checkPattern(p string) error { return lpattern.Check(p) }

// gsub returns the first result of Lua's `s:gsub(p, repl)` with a string
// replacement (see lpattern.Matcher.Gsub and Expand).
func gsub(s, p, repl string) (string, error) {
	var m lpattern.Matcher
	m.Reset(s, p)
	var expandErr error
	out, _, err := m.Gsub(p, int64(len(s))+1, func(start, end int) (string, bool) {
		v, err := m.Expand(repl, start, end)
		if err != nil && expandErr == nil {
			expandErr = err
		}
		return v, true
	})
	if err != nil {
		return "", err
	}
	if expandErr != nil {
		return "", expandErr
	}
	return out, nil
}

// toNumber is Lua 5.4's tonumber on a string, which libruleset's
// match.port applies to the port: surrounding white space and one sign
// allowed; decimal and hexadecimal integers (hex wraps modulo 2^64) and
// floats, hex floats included; "inf", "nan" and anything else fail.
func toNumber(s string) (float64, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || !(s[0] >= '0' && s[0] <= '9' || s[0] == '.') || strings.ContainsAny(s, "nN_") {
		return 0, false
	}
	v, ok := unsignedNumeral(s)
	if neg {
		v = -v
	}
	return v, ok
}

// unsignedNumeral reads a Lua numeral without sign.
func unsignedNumeral(s string) (float64, bool) {
	hex, isHex := strings.CutPrefix(s, "0x")
	if !isHex {
		hex, isHex = strings.CutPrefix(s, "0X")
	}
	if !isHex {
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil || isRangeErr(err)
	}
	if hex == "" {
		return 0, false
	}
	if !strings.ContainsAny(hex, ".pP") {
		var u uint64
		for i := 0; i < len(hex); i++ {
			d, ok := hexDigit(hex[i])
			if !ok {
				return 0, false
			}
			u = u<<4 | uint64(d)
		}
		return float64(int64(u)), true
	}
	if !strings.ContainsAny(hex, "pP") {
		hex += "p0"
	}
	if hex[0] == '.' {
		hex = "0" + hex
	}
	v, err := strconv.ParseFloat("0x"+hex, 64)
	return v, err == nil || isRangeErr(err)
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// portNumber parses a port for `port` matchers; the fast path avoids the
// general conversion for plain decimal ports.
func portNumber(s string) (float64, bool) {
	if n := len(s); n > 0 && n <= 5 {
		v := 0
		for i := 0; i < n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return toNumber(s)
			}
			v = v*10 + int(c-'0')
		}
		return float64(v), true
	}
	return toNumber(s)
}
