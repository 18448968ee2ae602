package dsl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/pm"
)

// This file holds the few Lua library functions whose exact behaviour the
// engine must share with the Lua back end: string.find and string.gsub
// with Lua patterns (through gopher-lua's own pattern matcher, so both
// engines match identically) and tonumber.

// errPattern wraps pattern failures that are not *pm.Error.
var errPattern = errors.New("malformed pattern")

// patFind reports whether Lua pattern p matches somewhere in s, as
// `s:find(p)` in gopher-lua (an empty pattern matches at 1).
func patFind(p, s string) (ok bool, err error) {
	if p == "" {
		return true, nil
	}
	mds, err := pmFind(p, s, 1)
	if err != nil {
		return false, err
	}
	return len(mds) > 0, nil
}

func pmFind(p, s string, limit int) (mds []*pm.MatchData, err error) {
	defer func() {
		if r := recover(); r != nil {
			mds, err = nil, fmt.Errorf("%w %q", errPattern, p)
		}
	}()
	return pm.Find(p, []byte(s), 0, limit)
}

// checkPattern validates a Lua pattern at compile time.
func checkPattern(p string) error {
	_, err := pmFind(p, "", 1)
	if err != nil {
		var pe *pm.Error
		if errors.As(err, &pe) {
			return errors.New(pe.Message)
		}
	}
	return err
}

// gsub returns the first result of Lua's `s:gsub(p, repl)` with a string
// replacement, as gopher-lua computes it: every non-overlapping match is
// replaced; in repl, %0 is the whole match, %1..%9 captures (with no
// captures %1 is the whole match), %% a percent sign, and % followed by
// any other byte is kept as both bytes. An out-of-range capture index is
// an error ("invalid capture index"), as is a malformed pattern.
func gsub(s, p, repl string) (string, error) {
	mds, err := pmFind(p, s, -1)
	if err != nil {
		return "", err
	}
	if len(mds) == 0 {
		return s, nil
	}
	var b strings.Builder
	prev := 0
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		b.WriteString(s[prev:start])
		if err := expandRepl(&b, s, repl, md); err != nil {
			return "", err
		}
		prev = end
	}
	if prev < len(s) {
		b.WriteString(s[prev:])
	}
	return b.String(), nil
}

func expandRepl(b *strings.Builder, s, repl string, md *pm.MatchData) error {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i == len(repl)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		d := repl[i]
		switch {
		case d == '%':
			b.WriteByte('%')
		case d >= '0' && d <= '9':
			idx := 2 * int(d-'0')
			if idx > 2 && idx >= md.CaptureLength() {
				return errors.New("invalid capture index")
			}
			if idx == 2 && idx >= md.CaptureLength() {
				idx = 0
			}
			if md.IsPosCapture(idx) {
				b.WriteString(strconv.Itoa(md.Capture(idx)))
			} else {
				b.WriteString(s[md.Capture(idx):md.Capture(idx+1)])
			}
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return nil
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
