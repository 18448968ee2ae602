package dsl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Severity says whether a diagnostic stops compilation.
type Severity uint8

// Severities.
const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one compiler message tied to a source position.
type Diagnostic struct {
	Pos      lexer.Position
	Severity Severity
	Msg      string
	Notes    []string // rendered after the caret line as "note: ..."
}

// maxErrors caps the errors reported for one compilation.
const maxErrors = 50

// Diagnostics is the list of messages of one compilation. As an error it
// renders all of them.
type Diagnostics struct {
	List []*Diagnostic
	src  map[string][]byte // file name -> contents, for the source lines
}

// HasErrors reports whether any diagnostic is an error.
func (d *Diagnostics) HasErrors() bool {
	for _, x := range d.List {
		if x.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (d *Diagnostics) Errors() *Diagnostics {
	e := &Diagnostics{src: d.src}
	for _, x := range d.List {
		if x.Severity == Error {
			e.List = append(e.List, x)
		}
	}
	return e
}

func (d *Diagnostics) Error() string { return d.Format() }

func (d *Diagnostics) add(pos lexer.Position, sev Severity, format string, args ...any) *Diagnostic {
	x := &Diagnostic{Pos: pos, Severity: sev, Msg: fmt.Sprintf(format, args...)}
	d.List = append(d.List, x)
	return x
}

func (d *Diagnostics) errorf(pos lexer.Position, format string, args ...any) *Diagnostic {
	return d.add(pos, Error, format, args...)
}

func (d *Diagnostics) warnf(pos lexer.Position, format string, args ...any) *Diagnostic {
	return d.add(pos, Warning, format, args...)
}

func (d *Diagnostics) count(sev Severity) int {
	n := 0
	for _, x := range d.List {
		if x.Severity == sev {
			n++
		}
	}
	return n
}

// sort orders the diagnostics by file, line and column (stable, so two
// messages at one position keep the order they were found in).
func (d *Diagnostics) sort() {
	sort.SliceStable(d.List, func(i, j int) bool {
		a, b := d.List[i].Pos, d.List[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Format renders every diagnostic as
//
//	file:line:col: error|warning: message
//	<source line>
//	<caret under the column>
//	note: ...
//
// capped at 50 errors.
func (d *Diagnostics) Format() string {
	var b strings.Builder
	errs := 0
	for _, x := range d.List {
		if x.Severity == Error {
			errs++
			if errs > maxErrors {
				fmt.Fprintf(&b, "too many errors (%d), stopping\n", d.count(Error))
				break
			}
		}
		b.WriteString(x.format(d.src))
	}
	return b.String()
}

// Brief renders every diagnostic on one line, as
// "file:line:col: error|warning: message (note: ...)", separated by "; "
// and capped like Format: the form for a log record, which must stay one
// line.
func (d *Diagnostics) Brief() string {
	var b strings.Builder
	errs := 0
	for _, x := range d.List {
		if x.Severity == Error {
			errs++
			if errs > maxErrors {
				fmt.Fprintf(&b, "; too many errors (%d), stopping", d.count(Error))
				break
			}
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s: %s", posString(x.Pos), x.Severity, x.Msg)
		for _, n := range x.Notes {
			fmt.Fprintf(&b, " (note: %s)", n)
		}
	}
	return b.String()
}

func (x *Diagnostic) format(src map[string][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s\n", posString(x.Pos), x.Severity, x.Msg)
	if line, ok := sourceLine(src[x.Pos.Filename], x.Pos.Line); ok {
		b.WriteString(line)
		b.WriteByte('\n')
		for i := 0; i < x.Pos.Column-1 && i < len(line); i++ {
			if line[i] == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString("^\n")
	}
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func posString(p lexer.Position) string {
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

func sourceLine(src []byte, line int) (string, bool) {
	if src == nil || line < 1 {
		return "", false
	}
	for n := 1; ; n++ {
		i := strings.IndexByte(string(src), '\n')
		if n == line {
			if i < 0 {
				return strings.TrimRight(string(src), "\r"), true
			}
			return strings.TrimRight(string(src[:i]), "\r"), true
		}
		if i < 0 {
			return "", false
		}
		src = src[i+1:]
	}
}

// parseDiag turns a participle error on src into a diagnostic that names
// the construct the parser expected, or, for a lexer error, the offending
// character.
func parseDiag(err error, src []byte) *Diagnostic {
	var lerr *lexer.Error
	if errors.As(err, &lerr) {
		return lexDiag(lerr.Pos, src)
	}
	perr, ok := err.(participle.Error)
	if !ok {
		return &Diagnostic{Severity: Error, Msg: err.Error()}
	}
	x := &Diagnostic{Pos: perr.Position(), Severity: Error, Msg: perr.Message()}
	if ute, ok := err.(*participle.UnexpectedTokenError); ok {
		x.Msg = "unexpected " + tokenText(ute.Unexpected)
		want := expected(ute)
		if ute.Unexpected.Value == "=>" && (want == `"}"` || want == "") {
			want = wantMatcher.get()
		}
		if want != "" {
			x.Msg += ": expected " + want
		}
		// A missing "}" shows where the parser gave up, often far from
		// the mistake: point at the brace that is still open.
		if want == `"}"` || ute.Unexpected.EOF() {
			if open, ok := openBrace(x.Pos.Filename, src, x.Pos.Offset); ok {
				x.Notes = append(x.Notes, fmt.Sprintf("%s: the \"{\" opened here is not closed", posString(open)))
			}
		}
	}
	return x
}

// lexDiag describes the text the lexer could not split into tokens at pos:
// an unterminated string or a character that no token contains.
func lexDiag(pos lexer.Position, src []byte) *Diagnostic {
	x := &Diagnostic{Pos: pos, Severity: Error}
	if pos.Offset >= len(src) {
		x.Msg = "unexpected end of file"
		return x
	}
	// Words take every non-ASCII rune, so the rune here is ASCII.
	switch r, _ := utf8.DecodeRune(src[pos.Offset:]); r {
	case '"':
		x.Msg = `unterminated string: no closing '"' before the end of the line`
	case '`':
		x.Msg = "unterminated raw string: no closing '`' before the end of the file"
	default:
		x.Msg = fmt.Sprintf("invalid character %q (U+%04X) outside a string", r, r)
	}
	return x
}

// openBrace returns the innermost "{" of src still open at byte offset
// end, lexing src again (the parser keeps no brace stack).
func openBrace(filename string, src []byte, end int) (lexer.Position, bool) {
	lx, err := nrtLexer.get().LexString(filename, string(src))
	if err != nil {
		return lexer.Position{}, false
	}
	punct := tokenTypes.get().punct
	var stack []lexer.Position
	for {
		tok, err := lx.Next()
		if err != nil || tok.EOF() || tok.Pos.Offset >= end {
			break
		}
		if tok.Type != punct {
			continue
		}
		switch tok.Value {
		case "{":
			stack = append(stack, tok.Pos)
		case "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return lexer.Position{}, false
	}
	return stack[len(stack)-1], true
}

func tokenText(t lexer.Token) string {
	if t.EOF() {
		return "end of file"
	}
	return fmt.Sprintf("%q", t.Value)
}

const (
	wantAction = "an action (direct reject default resolve redirect proxy rewrite loopback roundrobin weighted or an action name)"
	wantDecl   = "a declaration (include upstream set action chain redirect_name redirect redirect6 route route6 hosts users default test)"
)

// wantMatcher names what may start a matcher: the registered kinds
// between the other ways. Like productionNames it is made by the first
// message that needs it, not by the package's initializer.
var wantMatcher = lazy[string]{build: func() string {
	return "a matcher (any " + strings.Join(kindWords(), " ") + ` in not "(")`
}}

// productionNames maps participle's names of productions back to what
// messages said when the grammar's types were exported and listed the
// kind words. Participle names a production by its Go type with the
// first letter upper-cased, so most unexported AST types keep their old
// names; dnsEntry and testCase (case is a keyword) do not, and it names
// a Parseable production (kindWord, setKindWord) by its type as is, where
// it printed the alternatives of quoted words.
var productionNames = lazy[*strings.Replacer]{build: func() *strings.Replacer {
	return strings.NewReplacer(
		"setKindWord", quotedAlternatives(setKindNames[:]),
		"kindWord", quotedAlternatives(kindWords()),
		"DnsEntry", "DNSEntry",
		"TestCase", "Case",
	)
}}

// grammarError is a raw parse error whose "(expected ...)" part names the
// productions as messages always have (productionNames).
type grammarError struct{ err error }

func (e grammarError) Error() string {
	s := e.err.Error()
	if i := strings.LastIndex(s, "(expected "); i >= 0 {
		return s[:i] + productionNames.get().Replace(s[i:])
	}
	return s
}

func (e grammarError) Unwrap() error { return e.err }

func quotedAlternatives(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	return "(" + strings.Join(q, " | ") + ")"
}

// expected maps participle's description of what it wanted to a
// description of the construct in the terms of the language.
func expected(ute *participle.UnexpectedTokenError) string {
	e := ute.Error()
	i := strings.Index(e, "(expected ")
	if i < 0 {
		return ""
	}
	want := productionNames.get().Replace(strings.TrimSuffix(e[i+len("(expected "):], ")"))
	first := want
	if j := strings.IndexAny(first, " (<"); j >= 0 {
		first = first[:j]
	}
	switch first {
	case "Unary", "Conj", "Expr", "Rule":
		return wantMatcher.get()
	case "Action":
		return wantAction
	case "Decl":
		return wantDecl
	case "Value":
		return "a word or a string"
	case "Str":
		return "a string"
	case "Hop":
		return "an upstream name or a proxy URI"
	case "Ident", "<word>":
		return "a name"
	case `"=>"`:
		return `"=>"`
	}
	switch {
	case strings.Contains(want, "Unary"):
		return wantMatcher.get()
	case strings.Contains(want, "Action"):
		return wantAction
	}
	return want
}
