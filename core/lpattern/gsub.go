package lpattern

import (
	"strconv"
	"strings"
)

// Gsub walks the matches of the pattern over the subject as Lua 5.4's
// string.gsub does, at most maxN of them: an empty match where the last
// one ended is skipped by one byte, and "^" anchors the walk to the
// start. For each match repl returns its replacement, or false to keep
// the matched text. Gsub returns the result, the number of matches and
// the first error of the matcher; repl's own failures are its to raise.
// When nothing was replaced the result is the subject itself.
func (m *Matcher) Gsub(pat string, maxN int64, repl func(start, end int) (string, bool)) (string, int64, error) {
	src := m.src
	pi := 0
	anchor := len(pat) > 0 && pat[0] == '^'
	if anchor {
		pi = 1
	}
	var b strings.Builder
	changed := false
	var n int64
	si, last, copied := 0, -1, 0 // copied: src[:copied] is in b
	for n < maxN {
		start, e, err := m.Scan(si, pi, anchor)
		if err != nil {
			return "", n, err
		}
		if start < 0 {
			break
		}
		if e == last {
			// empty, where the last match ended: try one byte on
			if anchor || start >= len(src) {
				break
			}
			si = start + 1
			continue
		}
		n++
		// an unchanged match stays in the pending run of src
		if v, ok := repl(start, e); ok {
			b.WriteString(src[copied:start])
			b.WriteString(v)
			copied = e
			changed = true
		}
		si, last = e, e
		if anchor {
			break
		}
	}
	if !changed {
		return src, n, nil
	}
	b.WriteString(src[copied:])
	return b.String(), n, nil
}

// Expand expands a gsub replacement string for the match [s, e): %0 is
// the whole match, %1-%9 a capture (a position capture as its decimal
// position), %% a percent sign; any other use of % is an error with Lua
// 5.4's text.
func (m *Matcher) Expand(repl string, s, e int) (string, error) {
	i := strings.IndexByte(repl, '%')
	if i < 0 {
		return repl, nil
	}
	var b strings.Builder
	for i >= 0 {
		b.WriteString(repl[:i])
		var c byte
		if i+1 < len(repl) {
			c = repl[i+1]
		}
		switch {
		case c == '%':
			b.WriteByte('%')
		case c == '0':
			b.WriteString(m.src[s:e])
		case c >= '1' && c <= '9':
			text, pos, isPos, err := m.Capture(int(c-'1'), s, e)
			if err != nil {
				return "", err
			}
			if isPos {
				b.WriteString(strconv.Itoa(pos))
			} else {
				b.WriteString(text)
			}
		default:
			return "", &Error{"invalid use of '%' in replacement string"}
		}
		repl = repl[i+2:]
		i = strings.IndexByte(repl, '%')
	}
	b.WriteString(repl)
	return b.String(), nil
}
