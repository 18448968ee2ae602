package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The AST mirrors the grammar of the route-table design one struct per
// production. Keywords are Words matched by value; quoted strings keep
// their quotes here and are unquoted by the checker, so that a quoted
// "direct" is never taken for the keyword.

// File is one parsed source file.
type File struct {
	Pos   lexer.Position
	Decls []*Decl `parser:"@@*"`
}

// Decl is one top-level declaration.
type Decl struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	EndPos lexer.Position

	Include  *Str         `parser:"'include' @@"`
	Upstream *Upstream    `parser:"| 'upstream' @@"`
	Set      *SetDecl     `parser:"| 'set' @@"`
	Action   *ActionDecl  `parser:"| 'action' @@"`
	Chain    *ChainDecl   `parser:"| 'chain' @@"`
	Table    *TableDecl   `parser:"| @@"`
	Hosts    *HostsDecl   `parser:"| 'hosts' @@"`
	Users    *UsersDecl   `parser:"| 'users' @@"`
	Default  *DefaultDecl `parser:"| 'default' @@"`
	Test     *TestDecl    `parser:"| 'test' @@"`
}

// Ident is a declared or referenced name.
type Ident struct {
	Pos  lexer.Position
	Name string `parser:"@Word"`
}

// Str is a quoted string, a raw string or env("NAME").
type Str struct {
	Pos    lexer.Position
	String *string `parser:"@String"`
	Raw    *string `parser:"| @Raw"`
	Env    *string `parser:"| 'env' '(' @String ')'"`
}

// Value is a bare word or a string.
type Value struct {
	Pos  lexer.Position
	Str  *Str    `parser:"@@"`
	Word *string `parser:"| @Word"`
}

// Upstream declares a named proxy URI.
type Upstream struct {
	Name     *Ident `parser:"@@ '='"`
	URI      *Str   `parser:"@@"`
	User     *Str   `parser:"( 'user' @@"`
	Password *Str   `parser:"'password' @@ )?"`
}

// SetDecl declares a named set of matcher values.
type SetDecl struct {
	Name     *Ident      `parser:"@@"`
	Kind     setKindWord `parser:"@@"`
	Values   []*Value    `parser:"( '{' ( @@ ( ',' @@ )* ','? )? '}'"`
	From     *Str        `parser:"| 'from' @@"`
	Optional bool        `parser:"@'optional'?"`
	External bool        `parser:"| @'external' )"`
}

// ActionDecl declares a named, shared action instance.
type ActionDecl struct {
	Name   *Ident  `parser:"@@ '='"`
	Action *Action `parser:"@@"`
}

// ChainDecl declares a rule chain for `call`.
type ChainDecl struct {
	Name  *Ident  `parser:"@@"`
	Rules []*Rule `parser:"'{' @@* '}'"`
}

// TableDecl is one of the five routing tables.
type TableDecl struct {
	Name  string  `parser:"@('redirect_name' | 'redirect6' | 'redirect' | 'route6' | 'route')"`
	Rules []*Rule `parser:"'{' @@* '}'"`
}

// HostsDecl is the hosts table, inline or from a file.
type HostsDecl struct {
	Entries []*HostEntry `parser:"'{' @@* '}'"`
	From    *Str         `parser:"| 'from' @@"`
}

// HostEntry maps a name to a replacement host.
type HostEntry struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Key    *Value `parser:"@@ '='"`
	Val    *Value `parser:"@@"`
}

// UsersDecl lists the users accepted when authentication is required.
type UsersDecl struct {
	Entries []*UserEntry `parser:"'{' @@* '}'"`
}

// UserEntry is one user with a password or `any`. Only `any` admits the
// user without a password (a SOCKS4 user ID); see the package docs.
type UserEntry struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Name   *Value `parser:"@@ '='"`
	Any    bool   `parser:"( @'any'"`
	Pass   *Str   `parser:"| @@ )"`
}

// DefaultDecl is the action for requests no table decided.
type DefaultDecl struct {
	Action *Action `parser:"'=>' @@"`
	Tag    *Value  `parser:"( 'tag' @@ )?"`
}

// TestDecl is a block of expected decisions.
type TestDecl struct {
	Name  *Str        `parser:"@@?"`
	Auth  bool        `parser:"@'auth'?"`
	Items []*TestItem `parser:"'{' @@* '}'"`
}

// TestItem is a fake DNS entry or a test case.
type TestItem struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	DNS    *DNSEntry `parser:"'dns' @@"`
	Case   *Case     `parser:"| @@"`
}

// DNSEntry is one answer (or failure) of the fake resolver.
type DNSEntry struct {
	Name *Value `parser:"@@ '='"`
	Fail bool   `parser:"( @'fail'"`
	Addr *Value `parser:"| @@ )"`
}

// Case is one request and its expected outcome.
type Case struct {
	Callback string   `parser:"@('resolve' | 'route6' | 'route')?"`
	Addr     *Str     `parser:"@@"`
	User     *Str     `parser:"( 'user' @@"`
	Password *Str     `parser:"( 'password' @@ )? )?"`
	Reject   bool     `parser:"'=>' ( @'reject'"`
	Error    bool     `parser:"| @'error'"`
	To       *Str     `parser:"| 'to' @@"`
	Via      []*Hop   `parser:"( 'via' @@ ( ',' @@ )* )? )"`
	Tags     []*Value `parser:"( 'tags' @@ ( ',' @@ )* )?"`
}

// Rule is `call NAME` or `EXPR => ACTION [tag T]`.
type Rule struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	EndPos lexer.Position
	Call   *Ident  `parser:"'call' @@"`
	Expr   *Expr   `parser:"| @@ '=>'"`
	Action *Action `parser:"@@"`
	Tag    *Value  `parser:"( 'tag' @@ )?"`
}

// Expr is a disjunction.
type Expr struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Or     []*Conj `parser:"@@ ( 'or' @@ )*"`
}

// Conj is a conjunction.
type Conj struct {
	Pos lexer.Position
	And []*Unary `parser:"@@ ( 'and' @@ )*"`
}

// Unary is a negation, a parenthesised expression or a matcher.
type Unary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    *Unary   `parser:"'not' @@"`
	Paren  *Expr    `parser:"| '(' @@ ')'"`
	Any    bool     `parser:"| @'any'"`
	In     *Ident   `parser:"| 'in' @@"`
	Kind   kindWord `parser:"| @@"`
	Values []*Value `parser:"@@ ( ',' @@ )*"`
}

// Action is an action expression.
type Action struct {
	Pos        lexer.Position
	Simple     string    `parser:"@('direct' | 'reject' | 'default' | 'resolve')"`
	Redirect   *Redirect `parser:"| 'redirect' @@"`
	Proxy      []*Hop    `parser:"| 'proxy' @@ ( ',' @@ )*"`
	Rewrite    *Rewrite  `parser:"| 'rewrite' @@"`
	Loopback   *Loopback `parser:"| 'loopback' @@"`
	RoundRobin []*Action `parser:"| 'roundrobin' '{' @@ ( ';' @@ )* ';'? '}'"`
	Weighted   *Weighted `parser:"| 'weighted' @@"`
	Name       *Ident    `parser:"| @@"`
}

// Redirect is `redirect (host H | port P | H:P) [via ...]`.
type Redirect struct {
	Host *Value `parser:"( 'host' @@"`
	Port *Value `parser:"| 'port' @@"`
	Dst  *Value `parser:"| @@ )"`
	Via  []*Hop `parser:"( 'via' @@ ( ',' @@ )* )?"`
}

// Rewrite is `rewrite "pattern" to "repl" [via ...]`.
type Rewrite struct {
	Pattern *Str   `parser:"@@ 'to'"`
	Repl    *Str   `parser:"@@"`
	Via     []*Hop `parser:"( 'via' @@ ( ',' @@ )* )?"`
}

// Loopback is `loopback "pattern" to "repl"`.
type Loopback struct {
	Pattern *Str `parser:"@@ 'to'"`
	Repl    *Str `parser:"@@"`
}

// Weighted is `weighted [cycle N] { W ACTION; ... }`.
type Weighted struct {
	Pos   lexer.Position
	Cycle *Value   `parser:"( 'cycle' @@ )?"`
	Items []*WItem `parser:"'{' @@ ( ';' @@ )* ';'? '}'"`
}

// WItem is one weighted alternative.
type WItem struct {
	Pos    lexer.Position
	Weight *Value  `parser:"@@"`
	Action *Action `parser:"@@"`
}

// Hop is an upstream name or a proxy URI.
type Hop struct {
	Pos  lexer.Position
	Str  *Str    `parser:"@@"`
	Name *string `parser:"| @Word"`
}

var nrtLexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "Whitespace", Pattern: `[ \t\r\n]+`},
	{Name: "String", Pattern: `"(\\.|[^"\\\n])*"`},
	{Name: "Raw", Pattern: "`[^`]*`"},
	{Name: "Arrow", Pattern: `=>`},
	{Name: "Punct", Pattern: `[{}(),;=]`},
	{Name: "Word", Pattern: `[A-Za-z0-9_.:\[\]/\-\x{80}-\x{10FFFF}]+`},
})

var parser = participle.MustBuild[File](
	participle.Lexer(nrtLexer),
	participle.Elide("Comment", "Whitespace"),
	participle.UseLookahead(4),
)
