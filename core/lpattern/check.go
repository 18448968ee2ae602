package lpattern

// Check reports the first error that matching pat could raise anywhere
// in it, with Lua 5.4's texts: a malformed class or set, %b without its
// two bytes, %f without a set, a capture closed that was never opened or
// left open, too many captures, and a back-reference to a capture that
// is not closed before it. Lua raises these only when a match reaches
// the faulty item; a caller that compiles patterns ahead of time (the
// route table) refuses them up front instead.
func Check(pat string) (err error) {
	var m Matcher
	m.Reset("", pat)
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	var open []bool // per capture: still open
	p := 0
	if len(pat) > 0 && pat[0] == '^' {
		p = 1
	}
	for p < len(pat) {
		switch c := pat[p]; {
		case c == '(':
			if len(open) >= MaxCaptures {
				m.fail("too many captures")
			}
			if m.patByte(p+1) == ')' && p+1 < len(pat) {
				open = append(open, false) // a position capture
				p += 2
				continue
			}
			open = append(open, true)
			p++
			continue
		case c == ')':
			l := len(open) - 1
			for l >= 0 && !open[l] {
				l--
			}
			if l < 0 {
				m.fail("invalid pattern capture")
			}
			open[l] = false
			p++
			continue
		case c == '%' && p+1 < len(pat):
			switch d := pat[p+1]; {
			case d == 'b':
				if p+3 >= len(pat) {
					m.fail("malformed pattern (missing arguments to '%b')")
				}
				p += 4
				continue
			case d == 'f':
				p += 2
				if m.patByte(p) != '[' || p >= len(pat) {
					m.fail("missing '[' after '%f' in pattern")
				}
				p = m.classEnd(p)
				continue
			case d >= '0' && d <= '9':
				l := int(d) - '1'
				if l < 0 || l >= len(open) || open[l] {
					m.fail("invalid capture index %" + itoa(l+1))
				}
				p += 2
				continue
			}
		}
		p = m.classEnd(p)
		if p < len(pat) && (pat[p] == '*' || pat[p] == '+' || pat[p] == '-' || pat[p] == '?') {
			p++
		}
	}
	for _, o := range open {
		if o {
			m.fail("unfinished capture")
		}
	}
	return nil
}
