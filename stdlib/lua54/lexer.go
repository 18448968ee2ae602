package lua54

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind identifies a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tName
	tString
	tNumber
	// reserved words
	tAnd
	tBreak
	tDo
	tElse
	tElseif
	tEnd
	tFalse
	tFor
	tFunction
	tGoto
	tIf
	tIn
	tLocal
	tNil
	tNot
	tOr
	tRepeat
	tReturn
	tThen
	tTrue
	tUntil
	tWhile
	// multi-character symbols
	tConcat  // ..
	tDots    // ...
	tEq      // ==
	tGe      // >=
	tLe      // <=
	tNe      // ~=
	tShl     // <<
	tShr     // >>
	tIdiv    // //
	tDbColon // ::
	// single-character symbols are represented by tChar + the byte value
	tChar tokKind = 1000
)

// keywordNames are the reserved words, in the order of their kinds from
// tAnd. Lookups go through keyword and a switch, not a map: a map would be
// built by the package's initializer in every process that links the
// package, Lua ruleset or not.
var keywordNames = [tWhile - tAnd + 1]string{
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
	"if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
	"until", "while",
}

// keyword returns the kind of the reserved word s, or false for a name.
func keyword(s string) (tokKind, bool) {
	switch s {
	case "and":
		return tAnd, true
	case "break":
		return tBreak, true
	case "do":
		return tDo, true
	case "else":
		return tElse, true
	case "elseif":
		return tElseif, true
	case "end":
		return tEnd, true
	case "false":
		return tFalse, true
	case "for":
		return tFor, true
	case "function":
		return tFunction, true
	case "goto":
		return tGoto, true
	case "if":
		return tIf, true
	case "in":
		return tIn, true
	case "local":
		return tLocal, true
	case "nil":
		return tNil, true
	case "not":
		return tNot, true
	case "or":
		return tOr, true
	case "repeat":
		return tRepeat, true
	case "return":
		return tReturn, true
	case "then":
		return tThen, true
	case "true":
		return tTrue, true
	case "until":
		return tUntil, true
	case "while":
		return tWhile, true
	}
	return 0, false
}

// symbolNames are the multi-character symbols, in the order of their kinds
// from tConcat.
var symbolNames = [tDbColon - tConcat + 1]string{"..", "...", "==", ">=", "<=", "~=", "<<", ">>", "//", "::"}

// symbolText is the text of the multi-character symbol k, or "".
func symbolText(k tokKind) string {
	if k < tConcat || k > tDbColon {
		return ""
	}
	return symbolNames[k-tConcat]
}

// token is one lexical token. raw is the source text (used in error messages).
type token struct {
	kind tokKind
	line int
	str  string  // name or decoded string value
	num  numeral // numeral value
	raw  string  // source text of names, strings and numerals
}

// syntaxError is a positioned error; its message is already formatted the way
// Lua prints it ("chunk:line: msg").
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

type lexer struct {
	src   []byte
	pos   int
	line  int
	chunk string // chunkid, the printed form of the chunk name
}

func (lx *lexer) cur() int {
	if lx.pos < len(lx.src) {
		return int(lx.src[lx.pos])
	}
	return -1
}

func (lx *lexer) peekAt(n int) int {
	if lx.pos+n < len(lx.src) {
		return int(lx.src[lx.pos+n])
	}
	return -1
}

// errorf aborts lexing or parsing with a Lua-formatted message.
func (lx *lexer) errorf(line int, near string, format string, args ...any) {
	msg := fmt.Sprintf("%s:%d: %s", lx.chunk, line, fmt.Sprintf(format, args...))
	if near != "" {
		msg += " near " + near
	}
	panic(&syntaxError{msg: msg})
}

// quoteNear renders a token text the way luaX_token2str does for the
// "near" part of a message.
func quoteNear(s string) string { return "'" + s + "'" }

// newline consumes one end of line (\n, \r, \r\n or \n\r) and counts it.
func (lx *lexer) newline() {
	c := lx.cur()
	lx.pos++
	if n := lx.cur(); (n == '\n' || n == '\r') && n != c {
		lx.pos++
	}
	lx.line++
}

func isAlpha(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
func isDigit(c int) bool { return c >= '0' && c <= '9' }
func isXDigit(c int) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
func isSpace(c int) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// next scans the next token.
func (lx *lexer) next() token {
	for {
		c := lx.cur()
		switch {
		case c == -1:
			return token{kind: tEOF, line: lx.line}
		case c == '\n' || c == '\r':
			lx.newline()
			continue
		case c == ' ' || c == '\t' || c == '\f' || c == '\v':
			lx.pos++
			continue
		case c == '-':
			if lx.peekAt(1) != '-' {
				lx.pos++
				return token{kind: tChar + '-', line: lx.line}
			}
			lx.pos += 2
			if lx.cur() == '[' {
				start := lx.pos
				if lvl := lx.longBracketLevel(); lvl >= 0 {
					lx.readLong(lvl, true)
					continue
				}
				lx.pos = start
			}
			for c := lx.cur(); c != -1 && c != '\n' && c != '\r'; c = lx.cur() {
				lx.pos++
			}
			continue
		case c == '[':
			start := lx.pos
			line := lx.line
			if lvl := lx.longBracketLevel(); lvl >= 0 {
				s := lx.readLong(lvl, false)
				return token{kind: tString, line: line, str: s, raw: string(lx.src[start:lx.pos])}
			} else if lvl == -2 {
				lx.errorf(lx.line, quoteNear(string(lx.src[start:lx.pos])), "invalid long string delimiter")
			}
			lx.pos = start + 1
			return token{kind: tChar + '[', line: line}
		case c == '"' || c == '\'':
			return lx.readString(c)
		case isDigit(c) || c == '.' && isDigit(lx.peekAt(1)):
			return lx.readNumeral()
		case isAlpha(c):
			start := lx.pos
			for isAlpha(lx.cur()) || isDigit(lx.cur()) {
				lx.pos++
			}
			s := string(lx.src[start:lx.pos])
			if k, ok := keyword(s); ok {
				return token{kind: k, line: lx.line, raw: s}
			}
			return token{kind: tName, line: lx.line, str: s, raw: s}
		}
		// symbols
		line := lx.line
		two := func(k tokKind) token { lx.pos += 2; return token{kind: k, line: line} }
		n := lx.peekAt(1)
		switch c {
		case '=':
			if n == '=' {
				return two(tEq)
			}
		case '<':
			if n == '=' {
				return two(tLe)
			} else if n == '<' {
				return two(tShl)
			}
		case '>':
			if n == '=' {
				return two(tGe)
			} else if n == '>' {
				return two(tShr)
			}
		case '/':
			if n == '/' {
				return two(tIdiv)
			}
		case '~':
			if n == '=' {
				return two(tNe)
			}
		case ':':
			if n == ':' {
				return two(tDbColon)
			}
		case '.':
			if n == '.' {
				if lx.peekAt(2) == '.' {
					lx.pos += 3
					return token{kind: tDots, line: line}
				}
				return two(tConcat)
			}
		}
		lx.pos++
		return token{kind: tChar + tokKind(c), line: line}
	}
}

// longBracketLevel is called at '['. On an opening long bracket it consumes
// it and returns its level. It returns -1 when this is a plain '[' and -2 for
// a malformed delimiter such as "[==".
func (lx *lexer) longBracketLevel() int {
	p := lx.pos + 1
	lvl := 0
	for p < len(lx.src) && lx.src[p] == '=' {
		p++
		lvl++
	}
	if p < len(lx.src) && lx.src[p] == '[' {
		lx.pos = p + 1
		return lvl
	}
	if lvl == 0 {
		return -1
	}
	lx.pos = p
	return -2
}

// readLong reads the body of a long string or comment after its opening
// bracket.
func (lx *lexer) readLong(lvl int, comment bool) string {
	startLine := lx.line
	if c := lx.cur(); c == '\n' || c == '\r' {
		lx.newline()
	}
	var b strings.Builder
	for {
		c := lx.cur()
		switch c {
		case -1:
			what := "string"
			if comment {
				what = "comment"
			}
			lx.errorf(lx.line, "<eof>", "unfinished long %s (starting at line %d)", what, startLine)
		case ']':
			p := lx.pos + 1
			n := 0
			for p < len(lx.src) && lx.src[p] == '=' {
				p++
				n++
			}
			if n == lvl && p < len(lx.src) && lx.src[p] == ']' {
				lx.pos = p + 1
				return b.String()
			}
			b.WriteByte(']')
			lx.pos++
		case '\n', '\r':
			lx.newline()
			if !comment {
				b.WriteByte('\n')
			}
		default:
			if !comment {
				b.WriteByte(byte(c))
			}
			lx.pos++
		}
	}
}

func (lx *lexer) readString(quote int) token {
	line := lx.line
	start := lx.pos
	lx.pos++
	var b strings.Builder
	near := func() string { return quoteNear(string(lx.src[start:min(lx.pos, len(lx.src))])) }
	for {
		c := lx.cur()
		switch c {
		case quote:
			lx.pos++
			return token{kind: tString, line: line, str: b.String(), raw: string(lx.src[start:lx.pos])}
		case -1:
			lx.errorf(lx.line, "<eof>", "unfinished string")
		case '\n', '\r':
			lx.errorf(lx.line, near(), "unfinished string")
		case '\\':
			lx.readEscape(&b, near)
		default:
			b.WriteByte(byte(c))
			lx.pos++
		}
	}
}

// readEscape decodes one escape sequence starting at the backslash.
func (lx *lexer) readEscape(b *strings.Builder, near func() string) {
	lx.pos++ // backslash
	c := lx.cur()
	escErr := func(msg string) {
		// Lua reports the text read so far, including the offending char.
		if lx.cur() != -1 {
			lx.pos++
		}
		lx.errorf(lx.line, near(), "%s", msg)
	}
	simple := map[int]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '"': '"', '\'': '\''}
	if v, ok := simple[c]; ok {
		b.WriteByte(v)
		lx.pos++
		return
	}
	switch {
	case c == '\n' || c == '\r':
		lx.newline()
		b.WriteByte('\n')
	case c == 'x':
		lx.pos++
		v := 0
		for i := 0; i < 2; i++ {
			d := lx.cur()
			if !isXDigit(d) {
				escErr("hexadecimal digit expected")
			}
			v = v*16 + hexVal(d)
			lx.pos++
		}
		b.WriteByte(byte(v))
	case c == 'z':
		lx.pos++
		for isSpace(lx.cur()) {
			if lx.cur() == '\n' || lx.cur() == '\r' {
				lx.newline()
			} else {
				lx.pos++
			}
		}
	case c == 'u':
		lx.pos++
		if lx.cur() != '{' {
			escErr("missing '{'")
		}
		lx.pos++
		if !isXDigit(lx.cur()) {
			escErr("hexadecimal digit expected")
		}
		var r uint64
		for isXDigit(lx.cur()) {
			r = r*16 + uint64(hexVal(lx.cur()))
			if r > 0x7FFFFFFF {
				escErr("UTF-8 value too large")
			}
			lx.pos++
		}
		if lx.cur() != '}' {
			escErr("missing '}'")
		}
		lx.pos++
		b.Write(utf8Encode(uint32(r)))
	case isDigit(c):
		v := 0
		for i := 0; i < 3 && isDigit(lx.cur()); i++ {
			v = v*10 + lx.cur() - '0'
			lx.pos++
		}
		if v > 255 {
			// Lua's message includes the next character too.
			escErr("decimal escape too large")
		}
		b.WriteByte(byte(v))
	case c == -1:
		lx.errorf(lx.line, "<eof>", "unfinished string")
	default:
		escErr("invalid escape sequence")
	}
}

func hexVal(c int) int {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// utf8Encode encodes r with the extended (up to 6 byte, 31 bit) UTF-8 that
// Lua 5.4 uses for \u{...} and utf8.char.
func utf8Encode(r uint32) []byte {
	if r < 0x80 {
		return []byte{byte(r)}
	}
	if r <= utf8.MaxRune && (r < 0xD800 || r > 0xDFFF) {
		return utf8.AppendRune(nil, rune(r))
	}
	// Surrogates and values above U+10FFFF: generic encoding.
	var buf [8]byte
	n := 0
	mfb := uint32(0x3f) // max that fits in the first byte
	for {
		buf[7-n] = byte(0x80 | (r & 0x3f))
		n++
		r >>= 6
		mfb >>= 1
		if r <= mfb {
			break
		}
	}
	buf[7-n] = byte((^mfb << 1) | r)
	n++
	return append([]byte(nil), buf[8-n:]...)
}

func (lx *lexer) readNumeral() token {
	start := lx.pos
	expo := "Ee"
	if lx.cur() == '0' && (lx.peekAt(1) == 'x' || lx.peekAt(1) == 'X') {
		expo = "Pp"
		lx.pos += 2
	} else {
		lx.pos++
	}
	for {
		c := lx.cur()
		if c != -1 && strings.IndexByte(expo, byte(c)) >= 0 {
			lx.pos++
			if s := lx.cur(); s == '+' || s == '-' {
				lx.pos++
			}
		} else if isXDigit(c) || c == '.' {
			lx.pos++
		} else {
			break
		}
	}
	if isAlpha(lx.cur()) {
		lx.pos++
	}
	raw := string(lx.src[start:lx.pos])
	v, ok := parseNumeral(raw)
	if !ok {
		lx.errorf(lx.line, quoteNear(raw), "malformed number")
	}
	return token{kind: tNumber, line: lx.line, num: v, raw: raw}
}

// tokenText renders a token for the "near" part of an error message.
func tokenText(t token) string {
	switch {
	case t.kind == tEOF:
		return "<eof>"
	case t.kind == tName || t.kind == tString || t.kind == tNumber:
		return quoteNear(t.raw)
	case t.kind >= tChar:
		return quoteNear(string(rune(t.kind - tChar)))
	case t.kind >= tAnd && t.kind <= tWhile:
		return quoteNear(t.raw)
	default:
		return quoteNear(symbolText(t.kind))
	}
}

// kindText names a token kind for "'x' expected" messages.
func kindText(k tokKind) string {
	switch {
	case k == tEOF:
		return "<eof>"
	case k == tName:
		return "<name>"
	case k == tString:
		return "<string>"
	case k == tNumber:
		return "<number>"
	case k >= tChar:
		return "'" + string(rune(k-tChar)) + "'"
	case k >= tAnd && k <= tWhile:
		return "'" + keywordNames[k-tAnd] + "'"
	}
	return "'" + symbolText(k) + "'"
}
