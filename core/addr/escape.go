package addr

import "errors"

// Errors returned by Unescape.
var (
	// ErrBadEscape reports a '%' not followed by two hexadecimal digits.
	ErrBadEscape = errors.New("bad percent escape")
	// ErrControl reports a control character (below 0x20, or 0x7f) in the
	// decoded text when control characters are refused.
	ErrControl = errors.New("control character")
)

// Unhex returns the value of the hexadecimal digit c (either case), or -1
// when c is not one.
func Unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Unescape decodes the %XX escapes of s, and '+' as a space when plus is
// set. With noCtl it refuses a control character (below 0x20, or 0x7f),
// whether written plainly or escaped. Bytes are checked left to right and the
// first fault wins: ErrBadEscape for a truncated or non-hex escape,
// ErrControl for a control character. A string with nothing to decode is
// returned as is, without allocating.
func Unescape(s string, plus, noCtl bool) (string, error) {
	need := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || plus && c == '+' {
			need = true
			break
		}
		if noCtl && isCtl(c) {
			return "", ErrControl
		}
	}
	if !need {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", ErrBadEscape
			}
			hi, lo := Unhex(s[i+1]), Unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", ErrBadEscape
			}
			c = byte(hi<<4 | lo)
			i += 2
		case plus && c == '+':
			c = ' '
		}
		if noCtl && isCtl(c) {
			return "", ErrControl
		}
		b = append(b, c)
	}
	return string(b), nil
}

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }
