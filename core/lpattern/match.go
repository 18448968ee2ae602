// Package lpattern matches Lua 5.4 patterns (the language of string.find,
// match, gmatch and gsub) with a step budget: a Matcher polls a stop channel
// every few thousand steps, so a pathological pattern such as
// string.rep('a-', 12)..'b' against a long subject can be abandoned when the
// caller's deadline passes instead of running for minutes.
//
// The semantics follow the Lua 5.4 reference manual, §6.4.1, and the
// behaviour of the reference interpreter where the manual is silent: byte
// classes of the C locale, at most 32 captures, a recursion limit of 200
// (past it "pattern too complex"), and the interpreter's error texts. The
// package knows nothing about Lua values; stdlib turns matches into them
// for the Lua string library, and the route table (dsl) matches its
// pattern rules with it, so both engines decide alike by construction.
package lpattern

import (
	"errors"
	"strings"
)

// MaxCaptures is the number of captures a pattern may open, as in Lua 5.4.
const MaxCaptures = 32

// maxDepth bounds the recursion of one match, as MAXCCALLS does in Lua 5.4:
// each capture, optional item and expansion step that must be able to
// backtrack costs one level.
const maxDepth = 200

// checkEvery is how many steps pass between two polls of the stop channel:
// a step is a few nanoseconds, a poll a few more, so the deadline is seen
// within microseconds without slowing the common case down.
const checkEvery = 1 << 10

// ErrStopped is returned when the stop channel closed during a match.
var ErrStopped = errors.New("lpattern: match stopped")

// Error is a malformed pattern or an invalid use of a capture. Its text is
// what Lua 5.4 raises, without any prefix.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// capture lengths that are not lengths
const (
	capUnfinished = -1
	capPosition   = -2
)

type capture struct{ init, len int }

// Matcher matches one pattern against one subject. The zero value is
// ready for Reset; a Matcher is not safe for concurrent use.
type Matcher struct {
	// Stop, when closed, makes every later step fail with ErrStopped.
	// A nil channel never stops a match.
	Stop <-chan struct{}

	src, pat string
	level    int // captures opened so far
	depth    int // recursion levels left
	steps    uint
	capture  [MaxCaptures]capture
}

// abort carries an error from deep in the recursion to the exported
// method that started it; it never crosses the package boundary.
type abort struct{ err error }

// Reset prepares m to match pat against src.
func (m *Matcher) Reset(src, pat string) {
	m.src, m.pat = src, pat
	m.level = 0
}

// HasSpecials reports whether pat uses any pattern syntax; a pattern
// without it is searched for as a plain string, as Lua does (so that,
// for example, a lone ')' is not an error there).
func HasSpecials(pat string) bool {
	return strings.ContainsAny(pat, "^$*+?.([%-")
}

// MatchAt tries the pattern, from its byte offset pi, at subject offset si.
// It returns the end offset of the match, or -1 when there is none; the
// captures of a match are read with Capture.
func (m *Matcher) MatchAt(si, pi int) (end int, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			end, err = -1, a.err
		}
	}()
	m.level = 0
	m.depth = maxDepth
	return m.match(si, pi), nil
}

// Scan looks for the first match of the pattern, from its byte offset pi,
// at subject offsets si, si+1, ... up to the end of the subject, or at si
// alone when anchored. It returns the start and end of the match, or -1
// and -1. When the pattern starts with a literal byte that must occur,
// offsets where it does not are skipped unseen, as trying them could only
// fail at that first item.
func (m *Matcher) Scan(si, pi int, anchor bool) (start, end int, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			start, end, err = -1, -1, a.err
		}
	}()
	lead, hasLead := m.literalLead(pi)
	for ; si <= len(m.src); si++ {
		if hasLead && !anchor {
			i := strings.IndexByte(m.src[si:], lead)
			if i < 0 {
				break
			}
			si += i
		}
		m.level = 0
		m.depth = maxDepth
		if e := m.match(si, pi); e >= 0 {
			return si, e, nil
		}
		if anchor {
			break
		}
	}
	return -1, -1, nil
}

// literalLead returns the byte the pattern from pi must start its match
// with, when its first item is a plain character repeated at least once.
func (m *Matcher) literalLead(pi int) (byte, bool) {
	if pi >= len(m.pat) || strings.IndexByte("^$*+?.([%-)", m.pat[pi]) >= 0 {
		return 0, false
	}
	switch m.patByte(pi + 1) {
	case '*', '?', '-':
		if pi+1 < len(m.pat) {
			return 0, false
		}
	}
	return m.pat[pi], true
}

// Subject is the subject of the match.
func (m *Matcher) Subject() string { return m.src }

// Captures is the number of captures of the last match.
func (m *Matcher) Captures() int { return m.level }

// Capture returns capture i (0-based) of the last match, which spans
// [s, e): its text, or for a position capture "()" its 1-based position
// with isPos set. A pattern without captures has the whole match as
// capture 0.
func (m *Matcher) Capture(i, s, e int) (text string, pos int, isPos bool, err error) {
	if i >= m.level {
		if i != 0 {
			return "", 0, false, m.badIndex(i)
		}
		return m.src[s:e], 0, false, nil
	}
	c := m.capture[i]
	switch c.len {
	case capUnfinished:
		return "", 0, false, &Error{"unfinished capture"}
	case capPosition:
		return "", c.init + 1, true, nil
	}
	return m.src[c.init : c.init+c.len], 0, false, nil
}

func (m *Matcher) badIndex(i int) error {
	return &Error{"invalid capture index %" + itoa(i+1)}
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func (m *Matcher) fail(msg string) { panic(abort{&Error{msg}}) }

// step counts one unit of work and polls Stop now and then.
func (m *Matcher) step() {
	m.steps++
	if m.steps%checkEvery == 0 && m.Stop != nil {
		select {
		case <-m.Stop:
			panic(abort{ErrStopped})
		default:
		}
	}
}

// patByte is the pattern byte at i, or 0 past the end (the C interpreter
// reads the terminating NUL there, and some decisions depend on it).
func (m *Matcher) patByte(i int) byte {
	if i < len(m.pat) {
		return m.pat[i]
	}
	return 0
}

// classEnd returns the offset just past the single-character class at p.
func (m *Matcher) classEnd(p int) int {
	c := m.pat[p]
	p++
	switch c {
	case '%':
		if p >= len(m.pat) {
			m.fail("malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if m.patByte(p) == '^' {
			p++
		}
		// the first member may be ']' itself: look for the closing one
		// only after it
		for {
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' && p < len(m.pat) {
				p++ // an escaped member such as %]
			}
			if m.patByte(p) == ']' && p < len(m.pat) {
				return p + 1
			}
		}
	}
	return p
}

// isClass reports whether c is in the class named by the letter cl
// (%a, %d, ...; upper case negates); any other cl stands for itself.
func isClass(c, cl byte) bool {
	var in bool
	switch cl | 0x20 {
	case 'a':
		in = isAlpha(c)
	case 'c':
		in = c < 0x20 || c == 0x7f
	case 'd':
		in = c >= '0' && c <= '9'
	case 'g':
		in = c > 0x20 && c < 0x7f
	case 'l':
		in = c >= 'a' && c <= 'z'
	case 'p':
		in = c > 0x20 && c < 0x7f && !isAlpha(c) && !(c >= '0' && c <= '9')
	case 's':
		in = c == ' ' || (c >= '\t' && c <= '\r')
	case 'u':
		in = c >= 'A' && c <= 'Z'
	case 'w':
		in = isAlpha(c) || (c >= '0' && c <= '9')
	case 'x':
		in = (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
	case 'z':
		in = c == 0 // deprecated since 5.2, still accepted by 5.4
	default:
		return cl == c
	}
	if cl >= 'A' && cl <= 'Z' {
		return !in
	}
	return in
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// inSet reports whether c is in the set [ ... ] at p, whose closing ']' is
// at ec.
func (m *Matcher) inSet(c byte, p, ec int) bool {
	want := true
	if m.pat[p+1] == '^' {
		want = false
		p++
	}
	for p++; p < ec; p++ {
		switch {
		case m.pat[p] == '%':
			p++
			if isClass(c, m.pat[p]) {
				return want
			}
		case m.pat[p+1] == '-' && p+2 < ec:
			lo, hi := m.pat[p], m.pat[p+2]
			p += 2
			if lo <= c && c <= hi {
				return want
			}
		case m.pat[p] == c:
			return want
		}
	}
	return !want
}

// single reports whether the subject byte at s matches the class at p
// that ends at ep.
func (m *Matcher) single(s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return isClass(c, m.pat[p+1])
	case '[':
		return m.inSet(c, p, ep-1)
	}
	return m.pat[p] == c
}

// match matches the pattern from p at subject offset s and returns the end
// of the match or -1. Items that need no backtracking loop here; the rest
// recurse, one depth level each.
func (m *Matcher) match(s, p int) int {
	if m.depth == 0 {
		m.fail("pattern too complex")
	}
	m.depth--
	r := m.items(s, p)
	m.depth++
	return r
}

// items is match's loop, one pattern item per round.
func (m *Matcher) items(s, p int) int {
	for p < len(m.pat) {
		m.step()
		switch m.pat[p] {
		case '(':
			if m.patByte(p+1) == ')' {
				return m.openCapture(s, p+2, capPosition)
			}
			return m.openCapture(s, p+1, capUnfinished)
		case ')':
			return m.closeCapture(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			switch c := m.patByte(p + 1); {
			case c == 'b':
				if s = m.balance(s, p+2); s < 0 {
					return -1
				}
				p += 4
				continue
			case c == 'f':
				p += 2
				if m.patByte(p) != '[' {
					m.fail("missing '[' after '%f' in pattern")
				}
				ep := m.classEnd(p)
				var prev, cur byte
				if s > 0 {
					prev = m.src[s-1]
				}
				if s < len(m.src) {
					cur = m.src[s]
				}
				if m.inSet(prev, p, ep-1) || !m.inSet(cur, p, ep-1) {
					return -1
				}
				p = ep
				continue
			case c >= '0' && c <= '9':
				if s = m.backref(s, c); s < 0 {
					return -1
				}
				p += 2
				continue
			}
		}
		// a single-character class, maybe followed by a repetition
		ep := m.classEnd(p)
		rep := m.patByte(ep)
		if ep >= len(m.pat) {
			rep = 0
		}
		if !m.single(s, p, ep) {
			if rep == '*' || rep == '?' || rep == '-' {
				p = ep + 1 // zero repetitions are allowed
				continue
			}
			return -1
		}
		switch rep {
		case '?':
			if r := m.match(s+1, ep+1); r >= 0 {
				return r
			}
			p = ep + 1
		case '+':
			return m.maxExpand(s+1, p, ep)
		case '*':
			return m.maxExpand(s, p, ep)
		case '-':
			return m.minExpand(s, p, ep)
		default:
			s++
			p = ep
		}
	}
	return s
}

// maxExpand matches as many repetitions of the class at p as possible,
// then gives them back one by one until the rest matches.
func (m *Matcher) maxExpand(s, p, ep int) int {
	n := 0
	for m.single(s+n, p, ep) {
		m.step()
		n++
	}
	for ; n >= 0; n-- {
		m.step()
		if r := m.match(s+n, ep+1); r >= 0 {
			return r
		}
	}
	return -1
}

// minExpand matches as few repetitions as possible.
func (m *Matcher) minExpand(s, p, ep int) int {
	for {
		m.step()
		if r := m.match(s, ep+1); r >= 0 {
			return r
		}
		if !m.single(s, p, ep) {
			return -1
		}
		s++
	}
}

func (m *Matcher) openCapture(s, p, what int) int {
	if m.level >= MaxCaptures {
		m.fail("too many captures")
	}
	m.capture[m.level] = capture{init: s, len: what}
	m.level++
	r := m.match(s, p)
	if r < 0 {
		m.level--
	}
	return r
}

func (m *Matcher) closeCapture(s, p int) int {
	l := m.level - 1
	for ; l >= 0; l-- {
		if m.capture[l].len == capUnfinished {
			break
		}
	}
	if l < 0 {
		m.fail("invalid pattern capture")
	}
	m.capture[l].len = s - m.capture[l].init
	r := m.match(s, p)
	if r < 0 {
		m.capture[l].len = capUnfinished
	}
	return r
}

// balance matches %bxy at subject offset s; p is the offset of x.
func (m *Matcher) balance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("malformed pattern (missing arguments to '%b')")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	open, close := m.pat[p], m.pat[p+1]
	depth := 1
	for s++; s < len(m.src); s++ {
		m.step()
		switch m.src[s] {
		case close:
			if depth--; depth == 0 {
				return s + 1
			}
		case open:
			depth++
		}
	}
	return -1
}

// backref matches the text of capture %c again at s.
func (m *Matcher) backref(s int, c byte) int {
	l := int(c) - '1'
	if l < 0 || l >= m.level || m.capture[l].len == capUnfinished {
		panic(abort{m.badIndex(l)})
	}
	cp := m.capture[l]
	n := cp.len
	if n == capPosition {
		return -1 // Lua compares its length as a huge unsigned number
	}
	if len(m.src)-s >= n && m.src[cp.init:cp.init+n] == m.src[s:s+n] {
		return s + n
	}
	return -1
}
