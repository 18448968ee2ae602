package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// The L-IR: a tree of libruleset constructs with source positions. The
// checker produces it; the Lua emitter prints it and the Go back end
// compiles it. Every field is already validated.

// TableKind names the five routing tables.
type TableKind uint8

// The routing tables, in the order of the flow.
const (
	TRedirectName TableKind = iota
	TRedirect
	TRedirect6
	TRoute
	TRoute6
	nTable
)

var tableNames = [nTable]string{"redirect_name", "redirect", "redirect6", "route", "route6"}

func (t TableKind) String() string { return tableNames[t] }

// family is what a rule chain's matchers receive.
type family uint8

const (
	famStr family = iota // "host:port" strings
	fam4                 // IPv4 addresses
	fam6                 // IPv6 addresses
)

func (t TableKind) family() family {
	switch t {
	case TRoute:
		return fam4
	case TRoute6:
		return fam6
	}
	return famStr
}

// Program is the checked form of a route table and its includes.
type Program struct {
	Main      string            // the main file name as given
	Src       map[string][]byte // every source read, for diagnostics
	Upstreams map[string]string
	Sets      []*SetIR
	Actions   []*ActIR // named actions in declaration order
	Chains    []*ChainIR
	Tables    [nTable]*ChainIR
	Hosts     []HostIR
	Users     []UserIR
	HasUsers  bool
	Default   *RuleIR // nil: direct
	Tests     []*TestIR
	Rules     []*RuleIR // every rule (and the default) by ID
}

// ChainIR is a named chain or a table.
type ChainIR struct {
	Name  string
	Pos   lexer.Position
	Fam   family
	Rules []*RuleIR
}

// RuleIR is `M => A tag T` or `call C`.
type RuleIR struct {
	ID   int
	Pos  lexer.Position
	Text string // the matcher as written, for traces
	M    MatchIR
	A    *ActIR
	Tag  string
	Call *ChainIR
}

// Origin tells where the values of a matcher were written.
type Origin struct {
	File string
	Line []int32
	Col  []int32 // nil: column 1
}

func (o *Origin) pos(i int) lexer.Position {
	p := lexer.Position{Filename: o.File, Line: int(o.Line[i]), Column: 1}
	if o.Col != nil {
		p.Column = int(o.Col[i])
	}
	return p
}

func (o *Origin) add(p lexer.Position) {
	o.Line = append(o.Line, int32(p.Line))
	o.Col = append(o.Col, int32(p.Column))
}

// MatchIR is one matcher node.
type MatchIR interface{ mir() }

// MAny matches everything.
type MAny struct{}

// MSet is `in S`.
type MSet struct {
	Set *SetIR
	Fam family
}

// MNot is composite.inverse.
type MNot struct{ X MatchIR }

// MAll is composite.allof.
type MAll struct{ Xs []MatchIR }

// MAnyOf is composite.anyof.
type MAnyOf struct{ Xs []MatchIR }

func (MAny) mir()    {}
func (*MSet) mir()   {}
func (*MNot) mir()   {}
func (*MAll) mir()   {}
func (*MAnyOf) mir() {}

// SetKind is what a named set holds: the values of one string matcher
// kind, CIDR prefixes, or the mixed lines of a list file. The first five
// kinds share their order with StrKind, so a string set's matcher kind
// is a conversion.
type SetKind uint8

// Set kinds.
const (
	SetExact SetKind = iota
	SetHost
	SetDomain
	SetPattern
	SetRegex
	SetCIDR
	SetList
	nSetKind
)

var setKindNames = [nSetKind]string{"exact", "host", "domain", "pattern", "regex", "cidr", "list"}

// String returns the kind as written in a set declaration.
func (k SetKind) String() string { return setKindNames[k] }

// strKind returns the string matcher kind of a string set.
func (k SetKind) strKind() (StrKind, bool) { return StrKind(k), k < SetCIDR }

// setKindWord is the word naming a set's kind in its declaration. Like
// kindWord it parses one token whose text is a set kind, so the grammar
// names no kinds.
type setKindWord string

// Parse implements participle.Parseable.
func (w *setKindWord) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if _, ok := setKindOf(t.Value); !ok {
		return participle.NextMatch
	}
	*w = setKindWord(lex.Next().Value)
	return nil
}

// setKindOf returns the kind a set declaration names.
func setKindOf(name string) (SetKind, bool) {
	for k, n := range setKindNames {
		if n == name {
			return SetKind(k), true
		}
	}
	return 0, false
}

// SetIR is a named set.
type SetIR struct {
	Name     string
	Kind     SetKind
	Pos      lexer.Position
	External bool // filled at run time
	Missing  bool // optional file absent at compile time
	Str      *MStr
	List     [4]*MStr // list kind: domain, host, regex, pattern
	V4, V6   *MCIDR
	used     [3]bool // by family
	Slot     int     // runtime slot for dynamic sets, else -1
}

// Dynamic reports whether the set is looked up at match time.
func (s *SetIR) Dynamic() bool { return s.External || s.Missing }

// Global returns the Lua global a dynamic set is read from for family f.
func (s *SetIR) global(f family) string {
	if s.Kind == SetCIDR && s.used[fam4] && s.used[fam6] {
		if f == fam6 {
			return s.Name + "6"
		}
		return s.Name + "4"
	}
	return s.Name
}

// ActKind is the kind of an action.
type ActKind uint8

// Action kinds.
const (
	ADirect ActKind = iota
	AReject
	ADefault
	AResolve
	ARedirect
	AProxy
	ARewrite
	ALoopback
	ARoundRobin
	AIWRR
)

// ActIR is one action node. Named actions are shared by pointer.
type ActIR struct {
	Kind    ActKind
	Pos     lexer.Position
	Name    string   // named action: emitted once as a local
	Dst     string   // redirect: "h:p", "h:" or ":p"
	Chain   []string // proxy URIs, first hop first
	Pat     string   // rewrite, loopback
	Repl    string
	Items   []*ActIR
	Weights []float64 // iwrr: as written
	Cycle   float64   // iwrr: 0 = default step
}

// HostIR is one hosts entry.
type HostIR struct {
	Key, Val string
	Pos      lexer.Position
}

// UserIR is one users entry.
type UserIR struct {
	Name, Pass string
	Any        bool
	Pos        lexer.Position
}

// TestIR is a test block.
type TestIR struct {
	Name  string
	Pos   lexer.Position
	Auth  bool
	DNS   map[string]string // "" = fail
	Cases []*CaseIR
}

// CaseIR is one test case.
type CaseIR struct {
	Pos       lexer.Position
	Callback  route.Callback
	Addr      string
	Cred      route.Credentials
	Want      route.Verdict
	To        string
	Via       []string
	Tags      []string
	CheckTags bool
}
