package ere

// The parser mirrors the structure of glibc's regcomp (recursive descent over
// a one-token lookahead, syntax bits for ERE and BRE) so that it accepts and
// rejects the same patterns, reports the same first error, and builds a tree
// with the same meaning. It works on bytes, as glibc does in the C locale.

// charSet is a set of bytes.
type charSet [4]uint64

func (s *charSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *charSet) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *charSet) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.add(byte(c))
	}
}
func (s *charSet) invert() {
	for i := range s {
		s[i] = ^s[i]
	}
}

type nodeKind uint8

const (
	nEmpty   nodeKind = iota // matches the empty string
	nSet                     // one byte out of set
	nAnchor                  // zero-width assertion
	nConcat                  // subs in sequence
	nAlt                     // one of subs, in order of preference
	nGroup                   // capturing group idx (1-based) around subs[0]
	nRepeat                  // subs[0] between min and max times (max -1: unbounded)
	nBackref                 // text of group idx again
)

type anchorKind uint8

const (
	aLineStart    anchorKind = iota // ^
	aLineEnd                        // $
	aBufStart                       // \`
	aBufEnd                         // \'
	aWordStart                      // \<
	aWordEnd                        // \>
	aWordBound                      // \b
	aNotWordBound                   // \B
)

type node struct {
	kind     nodeKind
	set      charSet
	anchor   anchorKind
	idx      int
	min, max int
	subs     []*node
}

type tokKind uint8

const (
	tChar tokKind = iota
	tEnd
	tBackslash // a lone trailing backslash
	tAlt
	tStar
	tPlus
	tQuest
	tOpenBrace
	tCloseBrace
	tOpenGroup
	tCloseGroup
	tOpenBracket
	tPeriod
	tAnchor
	tBackref
	tWord
	tNotWord
	tSpace
	tNotSpace
)

type token struct {
	kind   tokKind
	c      byte       // the character for tChar (and the raw char otherwise)
	anchor anchorKind // for tAnchor
	n      int        // back-reference number, 0-based
}

// Error is a regcomp error. Its text is glibc's regerror message.
type Error struct {
	Code int // the glibc REG_* error code
}

// glibc's error codes and their regerror texts.
const (
	errBadPat   = 2
	errCollate  = 3
	errCtype    = 4
	errEscape   = 5
	errSubReg   = 6
	errBrack    = 7
	errParen    = 8
	errBrace    = 9
	errBadBR    = 10
	errRange    = 11
	errSpace    = 12
	errBadRpt   = 13
	errEnd      = 14
	errSize     = 15
	errRParen   = 16
	errEmbedNUL = 100 // not a glibc code: the pattern contains a NUL byte
)

// errText is glibc's regerror text of each code, by code. An array and
// not a map, so that the package's initializer builds nothing: the daemon
// links the package for the Lua regex module and the route tables' regex
// kind, which most runs do not use.
var errText = [...]string{
	errBadPat:  "Invalid regular expression",
	errCollate: "Invalid collation character",
	errCtype:   "Invalid character class name",
	errEscape:  "Trailing backslash",
	errSubReg:  "Invalid back reference",
	errBrack:   "Unmatched [, [^, [:, [., or [=",
	errParen:   "Unmatched ( or \\(",
	errBrace:   "Unmatched \\{",
	errBadBR:   "Invalid content of \\{\\}",
	errRange:   "Invalid range end",
	errSpace:   "Memory exhausted",
	errBadRpt:  "Invalid preceding regular expression",
	errEnd:     "Premature end of regular expression",
	errSize:    "Regular expression too big",
	errRParen:  "Unmatched ) or \\)",
}

func (e *Error) Error() string {
	if e.Code == errEmbedNUL {
		return "string contains an embedded NUL byte"
	}
	if e.Code >= 0 && e.Code < len(errText) && errText[e.Code] != "" {
		return errText[e.Code]
	}
	return "Invalid regular expression"
}

// dupMax is glibc's RE_DUP_MAX.
const dupMax = 0x7fff

type parser struct {
	src       string // the pattern, upper-cased with ICASE
	raw       string // the pattern as given
	pos       int
	ere       bool
	icase     bool
	newline   bool
	nsub      int
	completed uint16 // groups 1..9 whose closing parenthesis has been seen
	err       int
	backrefs  bool // a back-reference was parsed
	words     bool // \< or \> remains after simplifyWordAnchors
	tok       token
}

func upper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

func newParser(pattern string, flags Flags) *parser {
	p := &parser{raw: pattern, src: pattern, ere: flags&Extended != 0,
		icase: flags&ICase != 0, newline: flags&Newline != 0}
	if p.icase {
		b := []byte(pattern)
		for i := range b {
			b[i] = upper(b[i])
		}
		p.src = string(b)
	}
	return p
}

// peek reads the token at p.pos without consuming it and returns its length.
// caretHere makes '^' an anchor in a BRE (after "\(" and "\|").
func (p *parser) peek(at int, caretHere bool) (token, int) {
	if at >= len(p.src) {
		return token{kind: tEnd}, 0
	}
	c := p.src[at]
	t := token{kind: tChar, c: c}
	if c == '\\' {
		if at+1 >= len(p.src) {
			return token{kind: tBackslash}, 1
		}
		c2 := p.raw[at+1] // escapes keep their case, as in glibc
		t.c = c2
		switch c2 {
		case '|':
			if !p.ere {
				t.kind = tAlt
			}
		case '1', '2', '3', '4', '5', '6', '7', '8', '9':
			t.kind = tBackref
			t.n = int(c2 - '1')
		case '<':
			t.kind, t.anchor = tAnchor, aWordStart
		case '>':
			t.kind, t.anchor = tAnchor, aWordEnd
		case 'b':
			t.kind, t.anchor = tAnchor, aWordBound
		case 'B':
			t.kind, t.anchor = tAnchor, aNotWordBound
		case '`':
			t.kind, t.anchor = tAnchor, aBufStart
		case '\'':
			t.kind, t.anchor = tAnchor, aBufEnd
		case 'w':
			t.kind = tWord
		case 'W':
			t.kind = tNotWord
		case 's':
			t.kind = tSpace
		case 'S':
			t.kind = tNotSpace
		case '(':
			if !p.ere {
				t.kind = tOpenGroup
			}
		case ')':
			if !p.ere {
				t.kind = tCloseGroup
			}
		case '+':
			if !p.ere {
				t.kind = tPlus
			}
		case '?':
			if !p.ere {
				t.kind = tQuest
			}
		case '{':
			if !p.ere {
				t.kind = tOpenBrace
			}
		case '}':
			if !p.ere {
				t.kind = tCloseBrace
			}
		}
		return t, 2
	}
	switch c {
	case '|':
		if p.ere {
			t.kind = tAlt
		}
	case '*':
		t.kind = tStar
	case '+':
		if p.ere {
			t.kind = tPlus
		}
	case '?':
		if p.ere {
			t.kind = tQuest
		}
	case '{':
		if p.ere {
			t.kind = tOpenBrace
		}
	case '}':
		if p.ere {
			t.kind = tCloseBrace
		}
	case '(':
		if p.ere {
			t.kind = tOpenGroup
		}
	case ')':
		if p.ere {
			t.kind = tCloseGroup
		}
	case '[':
		t.kind = tOpenBracket
	case '.':
		t.kind = tPeriod
	case '^':
		if !p.ere && !caretHere && at != 0 {
			break
		}
		t.kind, t.anchor = tAnchor, aLineStart
	case '$':
		if !p.ere && at+1 != len(p.src) {
			next, _ := p.peek(at+1, false)
			if next.kind != tAlt && next.kind != tCloseGroup {
				break
			}
		}
		t.kind, t.anchor = tAnchor, aLineEnd
	}
	return t, 1
}

func (p *parser) fetch(caretHere bool) {
	t, n := p.peek(p.pos, caretHere)
	p.pos += n
	p.tok = t
}

func (p *parser) fail(code int) *node {
	if p.err == 0 {
		p.err = code
	}
	return nil
}

// parse parses the whole pattern. A nil tree with p.err == 0 means the
// pattern was empty.
func (p *parser) parse() *node {
	p.fetch(false)
	n := p.parseRegExp(0)
	if p.err != 0 {
		return nil
	}
	if n != nil {
		p.words = simplifyWordAnchors(n)
	}
	return n
}

func (p *parser) parseRegExp(nest int) *node {
	initial := p.completed
	branch := p.parseBranch(nest)
	if p.err != 0 {
		return nil
	}
	if p.tok.kind != tAlt {
		return branch
	}
	alt := &node{kind: nAlt, subs: []*node{orEmpty(branch)}}
	for p.tok.kind == tAlt {
		p.fetch(true)
		var b *node
		if p.tok.kind != tAlt && p.tok.kind != tEnd && (nest == 0 || p.tok.kind != tCloseGroup) {
			// A back-reference cannot name a group of a previous branch.
			accumulated := p.completed
			p.completed = initial
			b = p.parseBranch(nest)
			if p.err != 0 {
				return nil
			}
			p.completed |= accumulated
		}
		alt.subs = append(alt.subs, orEmpty(b))
	}
	return alt
}

func orEmpty(n *node) *node {
	if n == nil {
		return &node{kind: nEmpty}
	}
	return n
}

func (p *parser) parseBranch(nest int) *node {
	var items []*node
	first := true
	for first || (p.tok.kind != tAlt && p.tok.kind != tEnd && (nest == 0 || p.tok.kind != tCloseGroup)) {
		first = false
		e := p.parseExpression(nest)
		if p.err != 0 {
			return nil
		}
		if e != nil {
			items = append(items, e)
		}
	}
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return &node{kind: nConcat, subs: items}
}

func (p *parser) literal(c byte) *node {
	n := &node{kind: nSet}
	n.set.add(c)
	return n
}

func (p *parser) parseExpression(nest int) *node {
	var tree *node
	switch p.tok.kind {
	case tChar:
		tree = p.literal(p.tok.c)
	case tOpenGroup:
		tree = p.parseSubExp(nest + 1)
		if p.err != 0 {
			return nil
		}
	case tOpenBracket:
		tree = p.parseBracket()
		if p.err != 0 {
			return nil
		}
	case tBackref:
		if p.completed&(1<<p.tok.n) == 0 {
			return p.fail(errSubReg)
		}
		p.backrefs = true
		tree = &node{kind: nBackref, idx: p.tok.n + 1}
	case tOpenBrace, tStar, tPlus, tQuest:
		if p.tok.kind == tOpenBrace && !p.ere {
			return p.fail(errBadRpt)
		}
		if p.ere {
			return p.fail(errBadRpt)
		}
		// BRE: a leading repetition operator is an ordinary character.
		tree = p.literal(p.tok.c)
	case tCloseGroup:
		if !p.ere {
			return p.fail(errParen)
		}
		tree = p.literal(p.tok.c)
	case tCloseBrace:
		tree = p.literal(p.tok.c)
	case tAnchor:
		tree = &node{kind: nAnchor, anchor: p.tok.anchor}
		// An anchor cannot be repeated: what follows is parsed afresh.
		p.fetch(false)
		return tree
	case tPeriod:
		tree = &node{kind: nSet}
		tree.set.invert()
		if p.newline {
			tree.set[0] &^= 1 << '\n'
		}
		tree.set[0] &^= 1 // RE_DOT_NOT_NULL
	case tWord, tNotWord:
		tree = &node{kind: nSet}
		addClass(&tree.set, "alnum")
		tree.set.add('_')
		if p.tok.kind == tNotWord {
			tree.set.invert()
		}
	case tSpace, tNotSpace:
		tree = &node{kind: nSet}
		addClass(&tree.set, "space")
		if p.tok.kind == tNotSpace {
			tree.set.invert()
		}
	case tAlt, tEnd:
		return nil
	case tBackslash:
		return p.fail(errEscape)
	}
	p.fetch(false)
	for p.tok.kind == tStar || p.tok.kind == tPlus || p.tok.kind == tQuest || p.tok.kind == tOpenBrace {
		tree = p.parseDup(tree)
		if p.err != 0 {
			return nil
		}
		if !p.ere && (p.tok.kind == tStar || p.tok.kind == tOpenBrace) {
			return p.fail(errBadRpt)
		}
	}
	return tree
}

func (p *parser) parseSubExp(nest int) *node {
	p.nsub++
	idx := p.nsub
	p.fetch(true)
	var sub *node
	if p.tok.kind != tCloseGroup {
		sub = p.parseRegExp(nest)
		if p.err != 0 {
			return nil
		}
		if p.tok.kind != tCloseGroup {
			return p.fail(errParen)
		}
	}
	if idx <= 9 {
		p.completed |= 1 << (idx - 1)
	}
	return &node{kind: nGroup, idx: idx, subs: []*node{orEmpty(sub)}}
}

// fetchNumber reads the digits of an interval up to ',' or the closing brace:
// -1 for no digits, -2 for garbage or the end of the pattern.
func (p *parser) fetchNumber() int {
	num := -1
	for {
		p.fetch(false)
		c := p.tok.c
		if p.tok.kind == tEnd {
			return -2
		}
		if p.tok.kind == tCloseBrace || c == ',' {
			break
		}
		switch {
		case p.tok.kind != tChar || c < '0' || c > '9' || num == -2:
			num = -2
		case num == -1:
			num = int(c - '0')
		default:
			num = min(dupMax+1, num*10+int(c-'0'))
		}
	}
	return num
}

func (p *parser) parseDup(elem *node) *node {
	lo, hi := 0, -1
	switch p.tok.kind {
	case tOpenBrace:
		lo = p.fetchNumber()
		if lo == -1 {
			if p.tok.kind == tChar && p.tok.c == ',' {
				lo = 0 // {,m} is {0,m}
			} else {
				return p.fail(errBadBR)
			}
		}
		if lo != -2 {
			switch {
			case p.tok.kind == tCloseBrace:
				hi = lo
			case p.tok.kind == tChar && p.tok.c == ',':
				hi = p.fetchNumber()
			default:
				hi = -2
			}
		}
		if lo == -2 || hi == -2 {
			if p.tok.kind == tEnd {
				return p.fail(errBrace)
			}
			return p.fail(errBadBR)
		}
		if (hi != -1 && lo > hi) || p.tok.kind != tCloseBrace {
			return p.fail(errBadBR)
		}
		if m := hi; m == -1 && lo > dupMax || m > dupMax {
			return p.fail(errSize)
		}
	case tPlus:
		lo = 1
	case tQuest:
		hi = 1
	}
	p.fetch(false)
	if elem == nil {
		return nil
	}
	if lo == 0 && hi == 0 {
		// glibc drops the element; its groups never participate.
		return &node{kind: nRepeat, min: 0, max: 0, subs: []*node{elem}}
	}
	return &node{kind: nRepeat, min: lo, max: hi, subs: []*node{elem}}
}

// addClass adds the C-locale members of a character class; false if the
// class name is unknown.
func addClass(s *charSet, name string) bool {
	switch name {
	case "alpha":
		s.addRange('a', 'z')
		s.addRange('A', 'Z')
	case "upper":
		s.addRange('A', 'Z')
	case "lower":
		s.addRange('a', 'z')
	case "digit":
		s.addRange('0', '9')
	case "xdigit":
		s.addRange('0', '9')
		s.addRange('a', 'f')
		s.addRange('A', 'F')
	case "alnum":
		s.addRange('0', '9')
		s.addRange('a', 'z')
		s.addRange('A', 'Z')
	case "space":
		s.addRange('\t', '\r')
		s.add(' ')
	case "blank":
		s.add('\t')
		s.add(' ')
	case "print":
		s.addRange(0x20, 0x7e)
	case "graph":
		s.addRange(0x21, 0x7e)
	case "punct":
		for c := 0x21; c <= 0x7e; c++ {
			b := byte(c)
			if !('0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') {
				s.add(b)
			}
		}
	case "cntrl":
		s.addRange(0, 0x1f)
		s.add(0x7f)
	default:
		return false
	}
	return true
}

type bracketKind uint8

const (
	bChar  bracketKind = iota // a single byte
	bColl                     // [.x.]
	bEquiv                    // [=x=]
	bClass                    // [:name:]
)

type bracketElem struct {
	kind bracketKind
	c    byte
	name string
}

type btok uint8

const (
	bkChar btok = iota
	bkEnd
	bkRange     // '-'
	bkClose     // ']'
	bkNot       // '^'
	bkOpenColl  // "[."
	bkOpenEquiv // "[="
	bkOpenClass // "[:"
)

// peekBracket reads a token inside a bracket expression at p.pos.
func (p *parser) peekBracket() (btok, byte, int) {
	if p.pos >= len(p.src) {
		return bkEnd, 0, 0
	}
	c := p.src[p.pos]
	if c == '[' {
		var c2 byte
		if p.pos+1 < len(p.src) {
			c2 = p.src[p.pos+1]
		}
		switch c2 {
		case '.':
			return bkOpenColl, c2, 2
		case '=':
			return bkOpenEquiv, c2, 2
		case ':':
			return bkOpenClass, c2, 2
		}
		return bkChar, c, 1
	}
	switch c {
	case '-':
		return bkRange, c, 1
	case ']':
		return bkClose, c, 1
	case '^':
		return bkNot, c, 1
	}
	return bkChar, c, 1
}

// parseBracketSymbol reads the name of [.x.], [=x=] or [:x:] after its opener.
func (p *parser) parseBracketSymbol(kind btok, delim byte) (bracketElem, int) {
	if p.pos >= len(p.src) {
		return bracketElem{}, errBrack
	}
	var name []byte
	for i := 0; ; i++ {
		if i >= 32 {
			return bracketElem{}, errBrack
		}
		var ch byte
		if kind == bkOpenClass {
			ch = p.raw[p.pos] // class names keep their case
		} else {
			ch = p.src[p.pos]
		}
		p.pos++
		if p.pos >= len(p.src) {
			return bracketElem{}, errBrack
		}
		if ch == delim && p.src[p.pos] == ']' {
			break
		}
		name = append(name, ch)
	}
	p.pos++
	e := bracketElem{name: string(name)}
	switch kind {
	case bkOpenColl:
		e.kind = bColl
	case bkOpenEquiv:
		e.kind = bEquiv
	default:
		e.kind = bClass
	}
	return e, 0
}

func (p *parser) parseBracketElem(t btok, c byte, n int, acceptHyphen bool) (bracketElem, int) {
	p.pos += n
	switch t {
	case bkOpenColl, bkOpenEquiv, bkOpenClass:
		return p.parseBracketSymbol(t, c)
	case bkRange:
		if !acceptHyphen {
			// '-' is only allowed as the last element (or the first).
			if t2, _, _ := p.peekBracket(); t2 != bkClose {
				return bracketElem{}, errRange
			}
		}
	}
	return bracketElem{kind: bChar, c: c}, 0
}

// rangeEnd is the byte a range end point stands for.
func rangeEnd(e bracketElem) (byte, int) {
	switch e.kind {
	case bEquiv, bClass:
		return 0, errRange
	case bColl:
		if len(e.name) != 1 {
			return 0, errCollate
		}
		return e.name[0], 0
	}
	return e.c, 0
}

func (p *parser) parseBracket() *node {
	var set charSet
	nonMatch := false
	t, c, n := p.peekBracket()
	if t == bkEnd {
		return p.fail(errBadPat)
	}
	if t == bkNot {
		nonMatch = true
		if p.newline {
			set.add('\n')
		}
		p.pos += n
		t, c, n = p.peekBracket()
		if t == bkEnd {
			return p.fail(errBadPat)
		}
	}
	if t == bkClose {
		t = bkChar // a leading ']' is ordinary
	}
	first := true
	for {
		start, err := p.parseBracketElem(t, c, n, first)
		if err != 0 {
			return p.fail(err)
		}
		first = false
		t, c, n = p.peekBracket()
		isRange := false
		var t2 btok
		var c2 byte
		var n2 int
		if start.kind != bClass && start.kind != bEquiv {
			if t == bkEnd {
				return p.fail(errBrack)
			}
			if t == bkRange {
				p.pos += n
				t2, c2, n2 = p.peekBracket()
				if t2 == bkEnd {
					return p.fail(errBrack)
				}
				if t2 == bkClose {
					// a '-' before ']' is ordinary
					p.pos -= n
					t = bkChar
				} else {
					isRange = true
				}
			}
		}
		if isRange {
			end, err := p.parseBracketElem(t2, c2, n2, true)
			if err != 0 {
				return p.fail(err)
			}
			t, c, n = p.peekBracket()
			if start.kind == bEquiv || start.kind == bClass || end.kind == bEquiv || end.kind == bClass {
				return p.fail(errRange)
			}
			lo, err := rangeEnd(start)
			if err != 0 {
				return p.fail(err)
			}
			hi, err := rangeEnd(end)
			if err != 0 {
				return p.fail(err)
			}
			if lo > hi {
				return p.fail(errRange)
			}
			set.addRange(lo, hi)
		} else {
			switch start.kind {
			case bChar:
				set.add(start.c)
			case bColl, bEquiv:
				if len(start.name) != 1 {
					return p.fail(errCollate)
				}
				set.add(start.name[0])
			case bClass:
				name := start.name
				if p.icase && (name == "upper" || name == "lower") {
					name = "alpha"
				}
				if !addClass(&set, name) {
					return p.fail(errCtype)
				}
			}
		}
		if t == bkEnd {
			return p.fail(errBrack)
		}
		if t == bkClose {
			break
		}
	}
	p.pos += n
	if nonMatch {
		set.invert()
	}
	return &node{kind: nSet, set: set}
}

// wordSet reports whether every byte of n's set is a word character
// (after ICASE folding, which maps word characters to word characters).
func wordSet(n *node) bool {
	if n.kind != nSet {
		return false
	}
	for c := 0; c < 256; c++ {
		if n.set.has(byte(c)) && !isWordByte(byte(c)) {
			return false
		}
	}
	return true
}

// simplifyWordAnchors turns \< right before a word character and \> right
// after one into \b, which RE2 supports, and reports whether any \< or \>
// is left (those need the backtracking engine).
func simplifyWordAnchors(n *node) bool {
	left := false
	if n.kind == nConcat {
		for i, s := range n.subs {
			if s.kind != nAnchor {
				continue
			}
			switch {
			case s.anchor == aWordStart && i+1 < len(n.subs) && wordSet(n.subs[i+1]),
				s.anchor == aWordEnd && i > 0 && wordSet(n.subs[i-1]):
				n.subs[i] = &node{kind: nAnchor, anchor: aWordBound}
			}
		}
	}
	if n.kind == nAnchor && (n.anchor == aWordStart || n.anchor == aWordEnd) {
		return true
	}
	for _, s := range n.subs {
		if simplifyWordAnchors(s) {
			left = true
		}
	}
	return left
}
