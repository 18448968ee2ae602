package ere

import (
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// Flags are regcomp's cflags, with glibc's values.
type Flags uint8

// The regcomp flags.
const (
	Extended Flags = 1 // POSIX extended syntax; without it the pattern is a BRE
	ICase    Flags = 2 // ignore ASCII letter case
	Newline  Flags = 4 // '.' and [^...] exclude '\n'; ^ and $ match at line boundaries
	NoSub    Flags = 8 // accepted and ignored: submatches are always reported
)

// MatchTimeout bounds one search of a pattern that needs the backtracking
// engine (back-references, \< and \>, very large repeat counts).
const MatchTimeout = 100 * time.Millisecond

// ErrTimeout is returned when a backtracking search ran out of time.
var ErrTimeout = errors.New("ere: match timeout")

// Regexp is a compiled POSIX regular expression. It is safe for concurrent
// use.
type Regexp struct {
	expr  string
	flags Flags
	nsub  int
	re    *regexp.Regexp  // the linear-time engine, leftmost-longest
	bt    *regexp2.Regexp // the backtracking engine, when re cannot be used
	posix *gnfa           // glibc's submatch rules for re, when they matter
}

// Compile compiles a POSIX regular expression (ERE with Extended, else BRE)
// with glibc's semantics in the C locale. Errors are *Error values whose
// text is glibc's regerror message (e.g. "Unmatched ( or \\("). A pattern
// containing a NUL byte is rejected with "string contains an embedded NUL
// byte".
func Compile(pattern string, flags Flags) (*Regexp, error) {
	if strings.IndexByte(pattern, 0) >= 0 {
		return nil, &Error{Code: errEmbedNUL}
	}
	p := newParser(pattern, flags)
	tree := p.parse()
	if p.err != 0 {
		return nil, &Error{Code: p.err}
	}
	r := &Regexp{expr: pattern, flags: flags, nsub: p.nsub}
	if !p.backrefs && !p.words {
		if re, err := regexp.Compile(translate(tree, flags, false)); err == nil {
			re.Longest()
			r.re = re
			r.posix = newResolver(tree, flags, p.nsub)
			return r, nil
		}
		// RE2 refuses repeat counts above 1000 and programs that
		// expand too much; those go to the backtracking engine.
	}
	bt, err := regexp2.Compile(translate(tree, flags, true), regexp2.None)
	if err != nil {
		return nil, &Error{Code: errSize}
	}
	bt.MatchTimeout = MatchTimeout
	r.bt = bt
	return r, nil
}

// String returns the source pattern.
func (re *Regexp) String() string { return re.expr }

// NumSubexp returns the number of parenthesized subexpressions (re_nsub).
func (re *Regexp) NumSubexp() int { return re.nsub }

// Backtracking reports whether the pattern runs on the backtracking engine
// (leftmost-first, time-limited) instead of the linear-time one.
func (re *Regexp) Backtracking() bool { return re.bt != nil }

// needsWiden reports whether s has bytes that are not ASCII.
func needsWiden(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// widen re-encodes s so that every byte becomes the rune of the same value
// (Latin-1 to UTF-8): the engines then see one rune per byte.
func widen(s string) string {
	b := make([]byte, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// narrow maps offsets into widen(s) back to offsets into s, in place.
func narrow(w string, idx []int) {
	for k, o := range idx {
		if o <= 0 {
			continue
		}
		n := o
		for i := 0; i < o; i++ {
			if w[i] >= 0xC0 { // lead byte of a two-byte rune: one original byte
				n--
			}
		}
		idx[k] = n
	}
}

// FindSubmatchIndex returns the leftmost-longest match of re in s as pairs
// of byte offsets: the whole match, then one pair per subexpression (-1,-1
// for a group that did not participate), or nil for no match. The error is
// non-nil only when a backtracking pattern hit MatchTimeout.
func (re *Regexp) FindSubmatchIndex(s string) ([]int, error) {
	if re.bt != nil {
		return re.btFind(s, re.nsub)
	}
	var idx []int
	if !needsWiden(s) {
		idx = re.re.FindStringSubmatchIndex(s)
	} else {
		w := widen(s)
		idx = re.re.FindStringSubmatchIndex(w)
		narrow(w, idx)
	}
	if idx != nil && re.posix != nil {
		if regs := re.posix.resolve(s, idx[0], idx[1]); regs != nil {
			return regs, nil
		}
	}
	return idx, nil
}

// FindIndex returns the byte offsets of the leftmost-longest match of re in
// s, or nil. It is cheaper than FindSubmatchIndex when groups don't matter.
func (re *Regexp) FindIndex(s string) ([]int, error) {
	if re.bt != nil {
		return re.btFind(s, 0)
	}
	if !needsWiden(s) {
		return re.re.FindStringIndex(s), nil
	}
	w := widen(s)
	idx := re.re.FindStringIndex(w)
	narrow(w, idx)
	return idx, nil
}

// MatchString reports whether s contains any match of re.
func (re *Regexp) MatchString(s string) (bool, error) {
	if re.bt != nil {
		idx, err := re.btFind(s, 0)
		return idx != nil, err
	}
	if !needsWiden(s) {
		return re.re.MatchString(s), nil
	}
	return re.re.MatchString(widen(s)), nil
}

func (re *Regexp) btFind(s string, groups int) ([]int, error) {
	rs := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		rs[i] = rune(s[i])
	}
	m, err := re.bt.FindRunesMatch(rs)
	if err != nil {
		// regexp2's own error quotes the whole subject; keep it short.
		return nil, ErrTimeout
	}
	if m == nil {
		return nil, nil
	}
	idx := make([]int, 2*(groups+1))
	for i := 0; i <= groups; i++ {
		g := m.GroupByNumber(i)
		if g == nil || len(g.Captures) == 0 {
			idx[2*i], idx[2*i+1] = -1, -1
			continue
		}
		idx[2*i], idx[2*i+1] = g.Index, g.Index+g.Length
	}
	return idx, nil
}

// Compat rewrites the Perl escapes \d \D \w \W \s \S into POSIX bracket
// expressions, as libruleset's regex.compat does. It scans backslash pairs
// left to right, so an escaped backslash ("\\d") is left alone, and every
// other escape is kept unchanged.
func Compat(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'd':
			b.WriteString("[0-9]")
		case 'D':
			b.WriteString("[^0-9]")
		case 'w':
			b.WriteString("[a-zA-Z0-9_]")
		case 'W':
			b.WriteString("[^a-zA-Z0-9_]")
		case 's':
			b.WriteString("[[:space:]]")
		case 'S':
			b.WriteString("[^[:space:]]")
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Syntax returns the Go regexp (RE2) syntax of pattern that Compile runs,
// over strings widened byte by byte to runes 0-255, or false when the
// pattern runs on the backtracking engine (back-references, word anchors,
// or too large for RE2). Analyses of a pattern's language use it.
func Syntax(pattern string, flags Flags) (string, bool) {
	re, err := Compile(pattern, flags)
	if err != nil || re.re == nil {
		return "", false
	}
	return re.re.String(), true
}
