package ere

import (
	"strconv"
	"strings"
)

// The translator turns the parse tree into the syntax of Go's regexp
// package (RE2) or, for the few constructs RE2 cannot express, of regexp2
// (.NET syntax). Both targets see the subject as a sequence of runes each
// standing for one byte (see widen), so every set is emitted as explicit
// ranges over 0x00-0xFF and nothing depends on Unicode tables.

const wordClass = `[0-9A-Za-z_]`

type emitter struct {
	b       strings.Builder
	net     bool // emit regexp2 (.NET) syntax instead of RE2
	icase   bool
	newline bool
}

// fold maps a set in glibc's upper-cased ICASE domain to the set of subject
// bytes it accepts: b matches when upper(b) is in s.
func fold(s charSet) charSet {
	var out charSet
	for c := 0; c < 256; c++ {
		if s.has(upper(byte(c))) {
			out.add(byte(c))
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (e *emitter) byteLit(c byte) {
	if isAlnum(c) {
		e.b.WriteByte(c)
		return
	}
	e.b.WriteString(`\x`)
	const hex = "0123456789ABCDEF"
	e.b.WriteByte(hex[c>>4])
	e.b.WriteByte(hex[c&15])
}

func (e *emitter) set(s charSet) {
	if e.icase {
		s = fold(s)
	}
	n, last := 0, byte(0)
	for c := 0; c < 256; c++ {
		if s.has(byte(c)) {
			n++
			last = byte(c)
		}
	}
	switch n {
	case 0:
		if e.net {
			e.b.WriteString(`(?!)`)
		} else {
			e.b.WriteString(`[^\x00-\x{10FFFF}]`)
		}
		return
	case 1:
		e.byteLit(last)
		return
	}
	e.b.WriteByte('[')
	for c := 0; c < 256; {
		if !s.has(byte(c)) {
			c++
			continue
		}
		lo := c
		for c < 256 && s.has(byte(c)) {
			c++
		}
		e.byteLit(byte(lo))
		if c-1 > lo {
			e.b.WriteByte('-')
			e.byteLit(byte(c - 1))
		}
	}
	e.b.WriteByte(']')
}

func (e *emitter) anchor(a anchorKind) {
	var s string
	switch a {
	case aLineStart:
		s = `\A`
		if e.newline {
			s = `(?m:^)`
		}
	case aLineEnd:
		s = `\z`
		if e.newline {
			s = `(?m:$)`
		}
	case aBufStart:
		s = `\A`
	case aBufEnd:
		s = `\z`
	case aWordBound:
		s = `\b`
		if e.net {
			s = `(?:(?<=` + wordClass + `)(?!` + wordClass + `)|(?<!` + wordClass + `)(?=` + wordClass + `))`
		}
	case aNotWordBound:
		s = `\B`
		if e.net {
			s = `(?:(?<=` + wordClass + `)(?=` + wordClass + `)|(?<!` + wordClass + `)(?!` + wordClass + `))`
		}
	case aWordStart:
		s = `(?<!` + wordClass + `)(?=` + wordClass + `)`
	case aWordEnd:
		s = `(?<=` + wordClass + `)(?!` + wordClass + `)`
	}
	e.b.WriteString(s)
}

func (e *emitter) emit(n *node) {
	switch n.kind {
	case nEmpty:
		e.b.WriteString(`(?:)`)
	case nSet:
		e.set(n.set)
	case nAnchor:
		e.anchor(n.anchor)
	case nConcat:
		for _, s := range n.subs {
			e.emit(s)
		}
	case nAlt:
		e.b.WriteString(`(?:`)
		for i, s := range n.subs {
			if i > 0 {
				e.b.WriteByte('|')
			}
			e.emit(s)
		}
		e.b.WriteByte(')')
	case nGroup:
		e.b.WriteByte('(')
		e.emit(n.subs[0])
		e.b.WriteByte(')')
	case nRepeat:
		sub := n.subs[0]
		wrap := sub.kind != nSet && sub.kind != nGroup
		if wrap {
			e.b.WriteString(`(?:`)
		}
		e.emit(sub)
		if wrap {
			e.b.WriteByte(')')
		}
		switch {
		case n.min == 0 && n.max == -1:
			e.b.WriteByte('*')
		case n.min == 1 && n.max == -1:
			e.b.WriteByte('+')
		case n.min == 0 && n.max == 1:
			e.b.WriteByte('?')
		case n.min == n.max:
			e.b.WriteString("{" + strconv.Itoa(n.min) + "}")
		case n.max == -1:
			e.b.WriteString("{" + strconv.Itoa(n.min) + ",}")
		default:
			e.b.WriteString("{" + strconv.Itoa(n.min) + "," + strconv.Itoa(n.max) + "}")
		}
	case nBackref:
		if e.icase {
			e.b.WriteString(`(?i:\` + strconv.Itoa(n.idx) + `)`)
		} else {
			e.b.WriteString(`(?:\` + strconv.Itoa(n.idx) + `)`)
		}
	}
}

// translate renders tree (nil: the pattern was empty) in the target syntax.
func translate(tree *node, flags Flags, net bool) string {
	e := &emitter{net: net, icase: flags&ICase != 0, newline: flags&Newline != 0}
	if tree == nil {
		return `(?:)`
	}
	e.emit(tree)
	return e.b.String()
}
