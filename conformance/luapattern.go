package conformance

import (
	"errors"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/ere"
)

// Lua pattern witnesses: the same idea as ere.Witnesses for the patterns
// of match.pattern, rewrite and loopback. The parser below reads only as
// much of the pattern language as choosing a matching string needs.

// patItem is one single-character class with its quantifier, or one of
// the other pattern items.
type patItem struct {
	kind  byte              // 'c' class, 'b' %bxy, 'f' frontier, 'r' back-reference, '(' ')' captures
	class func(c byte) bool // for 'c'
	quant byte              // 0, '*', '+', '-', '?'
	x, y  byte              // %bxy
	ref   int               // back-reference number
}

var errBadPattern = errors.New("conformance: malformed Lua pattern")

// parseLuaPattern splits p into items and its anchors.
func parseLuaPattern(p string) (items []patItem, start, end bool, err error) {
	if strings.HasPrefix(p, "^") {
		start, p = true, p[1:]
	}
	for i := 0; i < len(p); {
		c := p[i]
		var it patItem
		switch {
		case c == '$' && i == len(p)-1:
			end = true
			i++
			continue
		case c == '(' || c == ')':
			items = append(items, patItem{kind: c})
			i++
			continue
		case c == '%' && i+1 < len(p):
			d := p[i+1]
			switch {
			case d == 'b':
				if i+3 >= len(p) {
					return nil, false, false, errBadPattern
				}
				items = append(items, patItem{kind: 'b', x: p[i+2], y: p[i+3]})
				i += 4
				continue
			case d == 'f':
				j, _, err := setEnd(p, i+2)
				if err != nil {
					return nil, false, false, err
				}
				items = append(items, patItem{kind: 'f'})
				i = j
				continue
			case d >= '1' && d <= '9':
				items = append(items, patItem{kind: 'r', ref: int(d - '0')})
				i += 2
				continue
			}
			it = patItem{kind: 'c', class: classOf(d)}
			i += 2
		case c == '%':
			return nil, false, false, errBadPattern
		case c == '[':
			j, f, err := setEnd(p, i)
			if err != nil {
				return nil, false, false, err
			}
			it = patItem{kind: 'c', class: f}
			i = j
		case c == '.':
			it = patItem{kind: 'c', class: func(byte) bool { return true }}
			i++
		default:
			lit := c
			it = patItem{kind: 'c', class: func(b byte) bool { return b == lit }}
			i++
		}
		if i < len(p) && strings.IndexByte("*+-?", p[i]) >= 0 {
			it.quant = p[i]
			i++
		}
		items = append(items, it)
	}
	return items, start, end, nil
}

// classOf is the predicate of %d: a class letter of Lua 5.4 (with 5.1's
// %z, which core/lpattern keeps), or the escaped character itself.
func classOf(d byte) func(byte) bool {
	lower := d | 0x20
	var f func(c byte) bool
	switch lower {
	case 'a':
		f = func(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
	case 'c':
		f = func(c byte) bool { return c < 32 || c == 127 }
	case 'd':
		f = func(c byte) bool { return c >= '0' && c <= '9' }
	case 'g':
		f = func(c byte) bool { return c > ' ' && c < 127 }
	case 'l':
		f = func(c byte) bool { return c >= 'a' && c <= 'z' }
	case 'p':
		f = func(c byte) bool { return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0 }
	case 's':
		f = func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	case 'u':
		f = func(c byte) bool { return c >= 'A' && c <= 'Z' }
	case 'w':
		f = func(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' }
	case 'x':
		f = func(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }
	case 'z': // Lua 5.1's NUL class
		f = func(c byte) bool { return c == 0 }
	default:
		return func(c byte) bool { return c == d }
	}
	if d != lower {
		return func(c byte) bool { return !f(c) }
	}
	return f
}

// setEnd parses the set [..] starting at p[i] and returns the index after
// it and its predicate.
func setEnd(p string, i int) (int, func(byte) bool, error) {
	if i >= len(p) || p[i] != '[' {
		return 0, nil, errBadPattern
	}
	i++
	neg := false
	if i < len(p) && p[i] == '^' {
		neg = true
		i++
	}
	var parts []func(byte) bool
	for first := true; ; first = false {
		if i >= len(p) {
			return 0, nil, errBadPattern
		}
		c := p[i]
		if c == ']' && !first {
			i++
			break
		}
		switch {
		case c == '%' && i+1 < len(p):
			parts = append(parts, classOf(p[i+1]))
			i += 2
		case i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']':
			lo, hi := c, p[i+2]
			parts = append(parts, func(b byte) bool { return b >= lo && b <= hi })
			i += 3
		default:
			parts = append(parts, func(b byte) bool { return b == c })
			i++
		}
	}
	return i, func(b byte) bool {
		in := false
		for _, f := range parts {
			if f(b) {
				in = true
				break
			}
		}
		return in != neg
	}, nil
}

// pickByte chooses a byte of a class, preferring ones that read well in
// host names.
func pickByte(f func(byte) bool) (byte, bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyz0123456789.-:_ABCDEFGHIJKLMNOPQRSTUVWXYZ[]/") {
		if f(c) {
			return c, true
		}
	}
	for c := 1; c < 256; c++ { // not NUL: gopher-lua's classes disagree with C Lua on it
		if f(byte(c)) {
			return byte(c), true
		}
	}
	return 0, false
}

// quantChoices gives, for a quantifier, the default repeat count, the
// other counts that still match and those that do not.
func quantChoices(q byte) (def int, alts, misses []int) {
	switch q {
	case '*', '-':
		return 0, []int{1, 2}, nil
	case '+':
		return 1, []int{2, 3}, []int{0}
	case '?':
		return 0, []int{1}, []int{2}
	}
	return 1, nil, nil
}

// PatternWitnesses returns strings a Lua pattern finds and near misses,
// built like ere.Witnesses: a shortest match, each quantified item taken
// more often one at a time, and the matches with a byte changed, text
// added before and after, and each quantifier one below its minimum or
// above its maximum. Each list holds at most 24 strings; a malformed
// pattern gives none.
func PatternWitnesses(p string) (matches, near []string) {
	items, _, _, err := parseLuaPattern(p)
	if err != nil {
		return nil, nil
	}
	gen := func(at, count int) (string, bool) {
		var b []byte
		var caps []int // start offsets of open captures
		var texts []string
		for i, it := range items {
			switch it.kind {
			case '(':
				caps = append(caps, len(b))
				texts = append(texts, "")
			case ')':
				if n := len(caps); n > 0 {
					texts[n-1] = string(b[caps[n-1]:])
				}
			case 'b':
				b = append(b, it.x, it.y)
			case 'r':
				if it.ref <= len(texts) {
					b = append(b, texts[it.ref-1]...)
				}
			case 'c':
				c, ok := pickByte(it.class)
				if !ok {
					return "", false
				}
				k, _, _ := quantChoices(it.quant)
				if i == at {
					k = count
				}
				for j := 0; j < k; j++ {
					b = append(b, c)
				}
			}
		}
		return string(b), true
	}
	add := ere.AddWitness
	if s, ok := gen(-1, 0); ok {
		add(&matches, s)
	}
	for i, it := range items {
		_, alts, _ := quantChoices(it.quant)
		for _, k := range alts {
			if s, ok := gen(i, k); ok && it.quant != 0 {
				add(&matches, s)
			}
		}
	}
	for i, it := range items {
		_, _, misses := quantChoices(it.quant)
		for _, k := range misses {
			if s, ok := gen(i, k); ok && it.quant != 0 {
				add(&near, s)
			}
		}
	}
	ere.AddNearMisses(&near, matches)
	return matches, near
}
