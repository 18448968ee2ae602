package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The AST mirrors the grammar of the route-table design one struct per
// production. Keywords are Words matched by value; quoted strings keep
// their quotes here and are unquoted by the checker, so that a quoted
// "direct" is never taken for the keyword. The types are the package's
// own; their fields are exported because participle fills them. Parse
// errors name productions by these types (see productionNames in
// diag.go), so renaming one changes a message.

// file is one parsed source file.
type file struct {
	Pos   lexer.Position
	Decls []*decl `parser:"@@*"`
}

// decl is one top-level declaration.
type decl struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	EndPos lexer.Position

	Include  *str         `parser:"'include' @@"`
	Upstream *upstream    `parser:"| 'upstream' @@"`
	Set      *setDecl     `parser:"| 'set' @@"`
	Action   *actionDecl  `parser:"| 'action' @@"`
	Chain    *chainDecl   `parser:"| 'chain' @@"`
	Table    *tableDecl   `parser:"| @@"`
	Hosts    *hostsDecl   `parser:"| 'hosts' @@"`
	Users    *usersDecl   `parser:"| 'users' @@"`
	Default  *defaultDecl `parser:"| 'default' @@"`
	Test     *testDecl    `parser:"| 'test' @@"`
}

// ident is a declared or referenced name.
type ident struct {
	Pos  lexer.Position
	Name string `parser:"@Word"`
}

// str is a quoted string, a raw string or env("NAME").
type str struct {
	Pos    lexer.Position
	String *string `parser:"@String"`
	Raw    *string `parser:"| @Raw"`
	Env    *string `parser:"| 'env' '(' @String ')'"`
}

// value is a bare word or a string.
type value struct {
	Pos  lexer.Position
	Str  *str    `parser:"@@"`
	Word *string `parser:"| @Word"`
}

// upstream declares a named proxy URI.
type upstream struct {
	Name     *ident `parser:"@@ '='"`
	URI      *str   `parser:"@@"`
	User     *str   `parser:"( 'user' @@"`
	Password *str   `parser:"'password' @@ )?"`
}

// setDecl declares a named set of matcher values.
type setDecl struct {
	Name     *ident      `parser:"@@"`
	Kind     setKindWord `parser:"@@"`
	Values   []*value    `parser:"( '{' ( @@ ( ',' @@ )* ','? )? '}'"`
	From     *str        `parser:"| 'from' @@"`
	Optional bool        `parser:"@'optional'?"`
	External bool        `parser:"| @'external' )"`
}

// actionDecl declares a named, shared action instance.
type actionDecl struct {
	Name   *ident  `parser:"@@ '='"`
	Action *action `parser:"@@"`
}

// chainDecl declares a rule chain for `call`.
type chainDecl struct {
	Name  *ident  `parser:"@@"`
	Rules []*rule `parser:"'{' @@* '}'"`
}

// tableDecl is one of the five routing tables.
type tableDecl struct {
	Name  string  `parser:"@('redirect_name' | 'redirect6' | 'redirect' | 'route6' | 'route')"`
	Rules []*rule `parser:"'{' @@* '}'"`
}

// hostsDecl is the hosts table, inline or from a file.
type hostsDecl struct {
	Entries []*hostEntry `parser:"'{' @@* '}'"`
	From    *str         `parser:"| 'from' @@"`
}

// hostEntry maps a name to a replacement host.
type hostEntry struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Key    *value `parser:"@@ '='"`
	Val    *value `parser:"@@"`
}

// usersDecl lists the users accepted when authentication is required.
type usersDecl struct {
	Entries []*userEntry `parser:"'{' @@* '}'"`
}

// userEntry is one user with a password or `any`. Only `any` admits the
// user without a password (a SOCKS4 user ID); see the package docs.
type userEntry struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Name   *value `parser:"@@ '='"`
	Any    bool   `parser:"( @'any'"`
	Pass   *str   `parser:"| @@ )"`
}

// defaultDecl is the action for requests no table decided.
type defaultDecl struct {
	Action *action `parser:"'=>' @@"`
	Tag    *value  `parser:"( 'tag' @@ )?"`
}

// testDecl is a block of expected decisions.
type testDecl struct {
	Name  *str        `parser:"@@?"`
	Auth  bool        `parser:"@'auth'?"`
	Items []*testItem `parser:"'{' @@* '}'"`
}

// testItem is a fake DNS entry or a test case.
type testItem struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	DNS    *dnsEntry `parser:"'dns' @@"`
	Case   *testCase `parser:"| @@"`
}

// dnsEntry is one answer (or failure) of the fake resolver.
type dnsEntry struct {
	Name *value `parser:"@@ '='"`
	Fail bool   `parser:"( @'fail'"`
	Addr *value `parser:"| @@ )"`
}

// testCase is one request and its expected outcome.
type testCase struct {
	Callback string   `parser:"@('resolve' | 'route6' | 'route')?"`
	Addr     *str     `parser:"@@"`
	User     *str     `parser:"( 'user' @@"`
	Password *str     `parser:"( 'password' @@ )? )?"`
	Reject   bool     `parser:"'=>' ( @'reject'"`
	Error    bool     `parser:"| @'error'"`
	To       *str     `parser:"| 'to' @@"`
	Via      []*hop   `parser:"( 'via' @@ ( ',' @@ )* )? )"`
	Tags     []*value `parser:"( 'tags' @@ ( ',' @@ )* )?"`
}

// rule is `call NAME` or `EXPR => ACTION [tag T]`.
type rule struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	EndPos lexer.Position
	Call   *ident  `parser:"'call' @@"`
	Expr   *expr   `parser:"| @@ '=>'"`
	Action *action `parser:"@@"`
	Tag    *value  `parser:"( 'tag' @@ )?"`
}

// expr is a disjunction.
type expr struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Or     []*conj `parser:"@@ ( 'or' @@ )*"`
}

// conj is a conjunction.
type conj struct {
	Pos lexer.Position
	And []*unary `parser:"@@ ( 'and' @@ )*"`
}

// unary is a negation, a parenthesised expression or a matcher.
type unary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    *unary   `parser:"'not' @@"`
	Paren  *expr    `parser:"| '(' @@ ')'"`
	Any    bool     `parser:"| @'any'"`
	In     *ident   `parser:"| 'in' @@"`
	Kind   kindWord `parser:"| @@"`
	Values []*value `parser:"@@ ( ',' @@ )*"`
}

// action is an action expression.
type action struct {
	Pos        lexer.Position
	Simple     string    `parser:"@('direct' | 'reject' | 'default' | 'resolve')"`
	Redirect   *redirect `parser:"| 'redirect' @@"`
	Proxy      []*hop    `parser:"| 'proxy' @@ ( ',' @@ )*"`
	Rewrite    *rewrite  `parser:"| 'rewrite' @@"`
	Loopback   *loopback `parser:"| 'loopback' @@"`
	RoundRobin []*action `parser:"| 'roundrobin' '{' @@ ( ';' @@ )* ';'? '}'"`
	Weighted   *weighted `parser:"| 'weighted' @@"`
	Name       *ident    `parser:"| @@"`
}

// redirect is `redirect (host H | port P | H:P) [via ...]`.
type redirect struct {
	Host *value `parser:"( 'host' @@"`
	Port *value `parser:"| 'port' @@"`
	Dst  *value `parser:"| @@ )"`
	Via  []*hop `parser:"( 'via' @@ ( ',' @@ )* )?"`
}

// rewrite is `rewrite "pattern" to "repl" [via ...]`.
type rewrite struct {
	Pattern *str   `parser:"@@ 'to'"`
	Repl    *str   `parser:"@@"`
	Via     []*hop `parser:"( 'via' @@ ( ',' @@ )* )?"`
}

// loopback is `loopback "pattern" to "repl"`.
type loopback struct {
	Pattern *str `parser:"@@ 'to'"`
	Repl    *str `parser:"@@"`
}

// weighted is `weighted [cycle N] { W ACTION; ... }`.
type weighted struct {
	Pos   lexer.Position
	Cycle *value   `parser:"( 'cycle' @@ )?"`
	Items []*wItem `parser:"'{' @@ ( ';' @@ )* ';'? '}'"`
}

// wItem is one weighted alternative.
type wItem struct {
	Pos    lexer.Position
	Weight *value  `parser:"@@"`
	Action *action `parser:"@@"`
}

// hop is an upstream name or a proxy URI.
type hop struct {
	Pos  lexer.Position
	Str  *str    `parser:"@@"`
	Name *string `parser:"| @Word"`
}

// nrtLexer is built on first use, as parser is: compiling its rules'
// expressions allocates about 50 KB and touches the code of participle's
// lexer and of regexp's compiler, which a daemon that never loads a route
// table should not pay for at its start.
var nrtLexer = lazy[*lexer.StatefulDefinition]{build: func() *lexer.StatefulDefinition {
	return lexer.MustSimple([]lexer.SimpleRule{
		{Name: "Comment", Pattern: `#[^\n]*`},
		{Name: "Whitespace", Pattern: `[ \t\r\n]+`},
		{Name: "String", Pattern: `"(\\.|[^"\\\n])*"`},
		{Name: "Raw", Pattern: "`[^`]*`"},
		{Name: "Arrow", Pattern: `=>`},
		{Name: "Punct", Pattern: `[{}(),;=]`},
		{Name: "Word", Pattern: `[A-Za-z0-9_.:\[\]/\-\x{80}-\x{10FFFF}]+`},
	})
}}

// tokenTypeSet holds the types of nrtLexer's tokens that the code reading
// tokens itself tells apart (the set scan, the formatter, diagnostics).
type tokenTypeSet struct {
	str, raw, word, punct, space, comment lexer.TokenType
}

var tokenTypes = lazy[tokenTypeSet]{build: func() tokenTypeSet {
	sym := nrtLexer.get().Symbols()
	return tokenTypeSet{
		str: sym["String"], raw: sym["Raw"], word: sym["Word"], punct: sym["Punct"],
		space: sym["Whitespace"], comment: sym["Comment"],
	}
}}

// parser is built on first use: building it takes about a megabyte and
// 7 500 allocations, which a daemon that never loads a route table should
// not keep resident from its start.
var parser = lazy[*participle.Parser[file]]{build: func() *participle.Parser[file] {
	return participle.MustBuild[file](
		participle.Lexer(nrtLexer.get()),
		participle.Elide("Comment", "Whitespace"),
		participle.UseLookahead(4),
	)
}}
