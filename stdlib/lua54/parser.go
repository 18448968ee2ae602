package lua54

import (
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// Operator priorities from the Lua 5.4 manual (§3.4.8), as lparser.c encodes
// them: left and right binding power.
type prio struct{ left, right int }

const unaryPriority = 12

// binaryPriority returns the priorities of the binary operator op, or
// false when op is none. A switch, not a map, so that the package's
// initializer builds nothing (see keywordNames).
func binaryPriority(op tokKind) (prio, bool) {
	switch op {
	case tOr:
		return prio{1, 1}, true
	case tAnd:
		return prio{2, 2}, true
	case tEq, tChar + '<', tLe, tNe, tChar + '>', tGe:
		return prio{3, 3}, true
	case tChar + '|':
		return prio{4, 4}, true
	case tChar + '~':
		return prio{5, 5}, true
	case tChar + '&':
		return prio{6, 6}, true
	case tShl, tShr:
		return prio{7, 7}, true
	case tConcat:
		return prio{9, 8}, true
	case tChar + '+', tChar + '-':
		return prio{10, 10}, true
	case tChar + '*', tChar + '%', tChar + '/', tIdiv:
		return prio{11, 11}, true
	case tChar + '^':
		return prio{14, 13}, true
	}
	return prio{}, false
}

type localVar struct {
	name  string
	konst bool
}

type funcState struct {
	parent *funcState
	vararg bool
	loops  int // enclosing loops inside this function (for break)
	// lastParam is the index in parser.locals of the function's last
	// parameter (including an implicit self), or -1.
	lastParam int
	// close is set when this "function" is the closure that holds the
	// rest of a block after a <close> variable (see closeRest).
	close *closeCtx
}

// closeCtx tracks how the statements after a <close> variable leave their
// closure: returns and breaks are turned into marked returns.
type closeCtx struct {
	breakOK   bool // a break may target a loop outside the closure
	hasReturn bool
	hasBreak  bool
	labels    map[string]bool
	gotos     []token // name and line of gotos inside the closure
}

type parser struct {
	lx       *lexer
	tok      token
	ahead    token
	hasAhead bool
	fs       *funcState
	locals   []localVar // active locals of all enclosing functions
	prefix   string     // marker prefix for lowered helpers
	used     map[string]bool
	strs     map[string]bool // user string literals starting with the prefix root
	// repeatTop is set while parsing the top level of a repeat body, where
	// <close> is not supported (the until condition sees the body's scope).
	repeatTop bool
}

// markerRoot starts every marker constant; see Load.
const markerRoot = "\x00lua54\x00"

func (p *parser) advance() {
	if p.hasAhead {
		p.tok = p.ahead
		p.hasAhead = false
	} else {
		p.tok = p.lx.next()
	}
	if p.tok.kind == tString && strings.HasPrefix(p.tok.str, markerRoot) {
		p.strs[p.tok.str] = true
	}
}

func (p *parser) peek() token {
	if !p.hasAhead {
		p.ahead = p.lx.next()
		p.hasAhead = true
	}
	return p.ahead
}

func (p *parser) errNear(format string, args ...any) {
	p.lx.errorf(p.tok.line, tokenText(p.tok), format, args...)
}

func (p *parser) check(k tokKind) {
	if p.tok.kind != k {
		p.errNear("%s expected", kindText(k))
	}
}

func (p *parser) checkNext(k tokKind) {
	p.check(k)
	p.advance()
}

func (p *parser) testNext(k tokKind) bool {
	if p.tok.kind == k {
		p.advance()
		return true
	}
	return false
}

// checkMatch expects `what` closing `who` opened at line `where`.
func (p *parser) checkMatch(what, who tokKind, where int) {
	if p.tok.kind == what {
		p.advance()
		return
	}
	if where == p.tok.line {
		p.errNear("%s expected", kindText(what))
	}
	p.errNear("%s expected (to close %s at line %d)", kindText(what), kindText(who), where)
}

func (p *parser) checkName() string {
	p.check(tName)
	s := p.tok.str
	p.advance()
	return s
}

// helper returns the marker constant naming a lowered operator helper.
func (p *parser) helper(name string) string {
	p.used[name] = true
	return p.prefix + name
}

func (p *parser) helperCall(name string, line int, args ...ast.Expr) ast.Expr {
	f := &ast.StringExpr{Value: p.helper(name)}
	f.SetLine(line)
	c := &ast.FuncCallExpr{Func: f, Args: args}
	c.SetLine(line)
	c.SetLastLine(line)
	return c
}

// ---- blocks and scopes ----

func blockFollow(k tokKind, withUntil bool) bool {
	switch k {
	case tElse, tElseif, tEnd, tEOF:
		return true
	case tUntil:
		return withUntil
	}
	return false
}

// block parses a block in a new scope.
func (p *parser) block() []ast.Stmt {
	n := len(p.locals)
	saved := p.repeatTop
	p.repeatTop = false
	stmts := p.statList()
	p.repeatTop = saved
	p.locals = p.locals[:n]
	return stmts
}

func (p *parser) statList() []ast.Stmt {
	var stmts []ast.Stmt
	for !blockFollow(p.tok.kind, true) {
		if p.tok.kind == tReturn {
			stmts = append(stmts, p.retStat())
			break
		}
		s := p.statement()
		if cl, ok := s.(*closeStmt); ok {
			return append(stmts, p.closeRest(cl)...)
		}
		if s != nil {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

func (p *parser) retStat() ast.Stmt {
	line := p.tok.line
	p.advance()
	st := &ast.ReturnStmt{}
	st.SetLine(line)
	if !blockFollow(p.tok.kind, true) && p.tok.kind != tChar+';' {
		st.Exprs = p.exprList()
	}
	p.testNext(tChar + ';')
	if !blockFollow(p.tok.kind, true) {
		p.errNear("%s expected", kindText(tEOF))
	}
	st.SetLastLine(p.tok.line)
	p.markReturn(st)
	return st
}

// markReturn turns "return e..." inside a <close> closure into
// "return <retmark>, e..." so the closure's caller can tell an explicit
// return from falling off the end of the block.
func (p *parser) markReturn(st *ast.ReturnStmt) {
	if p.fs.close == nil {
		return
	}
	p.fs.close.hasReturn = true
	mark := &ast.StringExpr{Value: p.helper("retmark")}
	mark.SetLine(st.Line())
	st.Exprs = append([]ast.Expr{mark}, st.Exprs...)
}

// breakStmt builds a break, or inside a <close> closure whose loop is
// outside, "return <brkmark>".
func (p *parser) breakStmt(line int) ast.Stmt {
	if p.fs.loops == 0 && p.fs.close != nil && p.fs.close.breakOK {
		p.fs.close.hasBreak = true
		mark := &ast.StringExpr{Value: p.helper("brkmark")}
		mark.SetLine(line)
		r := &ast.ReturnStmt{Exprs: []ast.Expr{mark}}
		r.SetLine(line)
		r.SetLastLine(line)
		return r
	}
	if p.fs.loops == 0 {
		p.lx.errorf(line, "", "break outside loop at line %d", line)
	}
	st := &ast.BreakStmt{}
	st.SetLine(line)
	st.SetLastLine(line)
	return st
}

// closeStmt is the parser's placeholder for "local x <close> = e"; the
// enclosing statement list replaces it (closeRest).
type closeStmt struct {
	ast.StmtBase
	local *ast.LocalAssignStmt
	name  string
}

// closeRest lowers a <close> variable. The rest of the block becomes a
// closure run by a native helper that calls __close(x, err) however the
// closure ends (fall-through, return, break, error), then:
//
//	local x = e
//	(closecheck)(x, "x")
//	local (close) = (closerun)(x, function(...) <rest> end, ...)
//	if (close) == (brkmark) then break end   -- only if the rest breaks
//	if (close) then return (closeret)((close)) end  -- only if it returns
func (p *parser) closeRest(cl *closeStmt) []ast.Stmt {
	line := cl.Line()
	ident := func(name string) *ast.IdentExpr {
		id := &ast.IdentExpr{Value: name}
		id.SetLine(line)
		return id
	}
	str := func(v string) *ast.StringExpr {
		e := &ast.StringExpr{Value: v}
		e.SetLine(line)
		return e
	}
	out := []ast.Stmt{cl.local}
	check := &ast.FuncCallStmt{Expr: p.helperCall("closecheck", line, ident(cl.name), str(cl.name))}
	check.SetLine(line)
	out = append(out, check)

	outer := p.fs
	ctx := &closeCtx{
		breakOK: outer.loops > 0 || outer.close != nil && outer.close.breakOK,
		labels:  map[string]bool{},
	}
	fs := &funcState{parent: outer, vararg: outer.vararg, lastParam: -1, close: ctx}
	p.fs = fs
	body := p.statList()
	p.fs = outer
	for _, g := range ctx.gotos {
		if !ctx.labels[g.str] {
			p.lx.errorf(g.line, "", "<goto %s> at line %d leaves the scope of a <close> variable (not supported)", g.str, g.line)
		}
	}
	endLine := p.tok.line
	fn := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: outer.vararg, Names: []string{}}, Stmts: body}
	fn.SetLine(line)
	fn.SetLastLine(endLine)
	args := []ast.Expr{ident(cl.name), fn}
	if outer.vararg {
		dots := &ast.Comma3Expr{}
		dots.SetLine(line)
		args = append(args, dots)
	}
	res := &ast.LocalAssignStmt{Names: []string{"(close)"}, Exprs: []ast.Expr{p.helperCall("closerun", line, args...)}}
	res.SetLine(line)
	res.SetLastLine(endLine)
	out = append(out, res)
	if ctx.hasBreak {
		cond := &ast.RelationalOpExpr{Operator: "==", Lhs: ident("(close)"), Rhs: str(p.helper("brkmark"))}
		cond.SetLine(line)
		ifs := &ast.IfStmt{Condition: cond, Then: []ast.Stmt{p.breakStmt(line)}, Else: []ast.Stmt{}}
		ifs.SetLine(line)
		ifs.SetLastLine(line)
		out = append(out, ifs)
	}
	if ctx.hasReturn {
		ret := &ast.ReturnStmt{Exprs: []ast.Expr{p.helperCall("closeret", line, ident("(close)"))}}
		ret.SetLine(line)
		ret.SetLastLine(line)
		p.markReturn(ret)
		ifs := &ast.IfStmt{Condition: ident("(close)"), Then: []ast.Stmt{ret}, Else: []ast.Stmt{}}
		ifs.SetLine(line)
		ifs.SetLastLine(line)
		out = append(out, ifs)
	}
	return out
}

func (p *parser) statement() ast.Stmt {
	line := p.tok.line
	switch p.tok.kind {
	case tChar + ';':
		p.advance()
		return nil
	case tIf:
		return p.ifStat(line)
	case tWhile:
		p.advance()
		cond := p.expr()
		p.checkNext(tDo)
		p.fs.loops++
		body := p.block()
		p.fs.loops--
		end := p.tok.line
		p.checkMatch(tEnd, tWhile, line)
		st := &ast.WhileStmt{Condition: cond, Stmts: body}
		st.SetLine(line)
		st.SetLastLine(end)
		return st
	case tDo:
		p.advance()
		body := p.block()
		end := p.tok.line
		p.checkMatch(tEnd, tDo, line)
		st := &ast.DoBlockStmt{Stmts: body}
		st.SetLine(line)
		st.SetLastLine(end)
		return st
	case tFor:
		return p.forStat(line)
	case tRepeat:
		p.advance()
		n := len(p.locals)
		p.fs.loops++
		saved := p.repeatTop
		p.repeatTop = true
		body := p.statList()
		p.repeatTop = saved
		p.fs.loops--
		p.checkMatch(tUntil, tRepeat, line)
		cond := p.expr() // sees the body's locals
		p.locals = p.locals[:n]
		st := &ast.RepeatStmt{Condition: cond, Stmts: body}
		st.SetLine(line)
		st.SetLastLine(p.tok.line)
		return st
	case tFunction:
		return p.funcStat(line)
	case tLocal:
		p.advance()
		if p.testNext(tFunction) {
			name := p.checkName()
			p.locals = append(p.locals, localVar{name: name})
			fn := p.funcBody(false, line)
			st := &ast.LocalAssignStmt{Names: []string{name}, Exprs: []ast.Expr{fn}}
			st.SetLine(line)
			st.SetLastLine(fn.LastLine())
			return st
		}
		return p.localStat(line)
	case tDbColon:
		p.advance()
		name := p.checkName()
		p.checkNext(tDbColon)
		if p.fs.close != nil {
			p.fs.close.labels[name] = true
		}
		st := &ast.LabelStmt{Name: name}
		st.SetLine(line)
		st.SetLastLine(line)
		return st
	case tReturn:
		return p.retStat()
	case tBreak:
		p.advance()
		return p.breakStmt(line)
	case tGoto:
		p.advance()
		gl := p.tok.line
		name := p.checkName()
		if p.fs.close != nil {
			p.fs.close.gotos = append(p.fs.close.gotos, token{str: name, line: gl})
		}
		st := &ast.GotoStmt{Label: name}
		st.SetLine(line)
		st.SetLastLine(line)
		return st
	}
	return p.exprStat(line)
}

func (p *parser) ifStat(line int) ast.Stmt {
	p.advance()
	cond := p.expr()
	p.checkNext(tThen)
	root := &ast.IfStmt{Condition: cond, Then: p.block()}
	root.SetLine(line)
	cur := root
	for p.tok.kind == tElseif {
		l := p.tok.line
		p.advance()
		c := p.expr()
		p.checkNext(tThen)
		next := &ast.IfStmt{Condition: c, Then: p.block()}
		next.SetLine(l)
		cur.Else = []ast.Stmt{next}
		cur = next
	}
	if p.testNext(tElse) {
		cur.Else = p.block()
	}
	end := p.tok.line
	p.checkMatch(tEnd, tIf, line)
	for s := root; s != nil; {
		s.SetLastLine(end)
		if len(s.Else) == 1 {
			if n, ok := s.Else[0].(*ast.IfStmt); ok && n != root {
				s = n
				continue
			}
		}
		break
	}
	return root
}

func (p *parser) forStat(line int) ast.Stmt {
	p.advance()
	n := len(p.locals)
	defer func() { p.locals = p.locals[:n] }()
	name := p.checkName()
	switch p.tok.kind {
	case tChar + '=':
		p.advance()
		init := p.expr()
		p.checkNext(tChar + ',')
		limit := p.expr()
		var step ast.Expr
		if p.testNext(tChar + ',') {
			step = p.expr()
		}
		p.checkNext(tDo)
		p.locals = append(p.locals, localVar{name: name})
		p.fs.loops++
		body := p.block()
		p.fs.loops--
		end := p.tok.line
		p.checkMatch(tEnd, tFor, line)
		st := &ast.NumberForStmt{Name: name, Init: init, Limit: limit, Step: step, Stmts: body}
		st.SetLine(line)
		st.SetLastLine(end)
		return st
	case tChar + ',', tIn:
		names := []string{name}
		for p.testNext(tChar + ',') {
			names = append(names, p.checkName())
		}
		p.checkNext(tIn)
		exprs := p.exprList()
		p.checkNext(tDo)
		for _, nm := range names {
			p.locals = append(p.locals, localVar{name: nm})
		}
		p.fs.loops++
		body := p.block()
		p.fs.loops--
		end := p.tok.line
		p.checkMatch(tEnd, tFor, line)
		st := &ast.GenericForStmt{Names: names, Exprs: exprs, Stmts: body}
		st.SetLine(line)
		st.SetLastLine(end)
		return st
	}
	p.errNear("'=' or 'in' expected")
	return nil
}

func (p *parser) funcStat(line int) ast.Stmt {
	p.advance()
	l := p.tok.line
	name1 := p.checkName()
	p.checkAssignable(name1)
	var fexpr ast.Expr = p.nameExpr(name1, l)
	fn := &ast.FuncName{Func: fexpr}
	for p.tok.kind == tChar+'.' {
		p.advance()
		kl := p.tok.line
		key := &ast.StringExpr{Value: p.checkName()}
		key.SetLine(kl)
		g := &ast.AttrGetExpr{Object: fn.Func, Key: key}
		g.SetLine(kl)
		fn.Func = g
	}
	method := false
	if p.testNext(tChar + ':') {
		method = true
		fn = &ast.FuncName{Receiver: fn.Func, Method: p.checkName()}
	}
	body := p.funcBody(method, line)
	st := &ast.FuncDefStmt{Name: fn, Func: body}
	st.SetLine(line)
	st.SetLastLine(body.LastLine())
	return st
}

func (p *parser) localStat(line int) ast.Stmt {
	var names []string
	var attrs []localVar
	closeName := ""
	for {
		name := p.checkName()
		v := localVar{name: name}
		if p.testNext(tChar + '<') {
			attr := p.checkName()
			p.checkNext(tChar + '>')
			switch attr {
			case "const":
				v.konst = true
			case "close":
				if closeName != "" {
					p.lx.errorf(p.tok.line, "", "multiple to-be-closed variables in local list")
				}
				v.konst = true
				closeName = name
			default:
				p.lx.errorf(p.tok.line, "", "unknown attribute '%s'", attr)
			}
		}
		names = append(names, name)
		attrs = append(attrs, v)
		if !p.testNext(tChar + ',') {
			break
		}
	}
	var exprs []ast.Expr
	if p.testNext(tChar + '=') {
		exprs = p.exprList()
	}
	p.locals = append(p.locals, attrs...)
	st := &ast.LocalAssignStmt{Names: names, Exprs: exprs}
	if exprs == nil {
		st.Exprs = []ast.Expr{}
	}
	st.SetLine(line)
	st.SetLastLine(p.tok.line)
	if closeName != "" {
		if p.repeatTop {
			p.lx.errorf(line, "", "<close> variable '%s' directly in a repeat-until body is not supported (wrap the body in do ... end)", closeName)
		}
		cl := &closeStmt{local: st, name: closeName}
		cl.SetLine(line)
		return cl
	}
	return st
}

// checkVar rejects assignment targets that are not variables.
func (p *parser) checkVar(e ast.Expr) {
	switch x := e.(type) {
	case *ast.IdentExpr:
		p.checkAssignable(x.Value)
	case *ast.AttrGetExpr:
	default:
		p.errNear("syntax error")
	}
}

// checkAssignable rejects assignment to a <const> local.
func (p *parser) checkAssignable(name string) {
	for i := len(p.locals) - 1; i >= 0; i-- {
		if p.locals[i].name == name {
			if p.locals[i].konst {
				p.lx.errorf(p.tok.line, "", "attempt to assign to const variable '%s'", name)
			}
			return
		}
	}
}

func (p *parser) exprStat(line int) ast.Stmt {
	e := p.suffixedExpr()
	if p.tok.kind == tChar+'=' || p.tok.kind == tChar+',' {
		p.checkVar(e)
		lhs := []ast.Expr{e}
		for p.testNext(tChar + ',') {
			v := p.suffixedExpr()
			p.checkVar(v)
			lhs = append(lhs, v)
		}
		p.checkNext(tChar + '=')
		rhs := p.exprList()
		if len(lhs) > 1 {
			return multiAssign(lhs, rhs, line, p.tok.line)
		}
		p.avoidLastParamBug(lhs, rhs)
		st := &ast.AssignStmt{Lhs: lhs, Rhs: rhs}
		st.SetLine(line)
		st.SetLastLine(p.tok.line)
		return st
	}
	call, ok := e.(*ast.FuncCallExpr)
	if !ok || isParenthesized(call) {
		p.errNear("syntax error")
	}
	st := &ast.FuncCallStmt{Expr: e}
	st.SetLine(line)
	st.SetLastLine(p.tok.line)
	return st
}

// multiAssign lowers "a, t[k] = e1, e2" to single assignments through
// temporaries:
//
//	do
//	  local (o1), (k1) = t, k          -- targets' table and key first
//	  local (v0), (v1) = e1, e2        -- then all values
//	  t[k] = ...; a = ...              -- stores, right to left as Lua does
//	end
//
// gopher-lua v1.1.2 miscompiles multiple assignment (a, b = b, a does not
// swap; a[1], b, a[2] = x, y, z can store the wrong register into b), so
// the VM only ever sees single assignments. The temporaries' names are not
// valid Lua identifiers, so user code cannot see them.
func multiAssign(lhs, rhs []ast.Expr, line, last int) ast.Stmt {
	ident := func(name string) *ast.IdentExpr {
		id := &ast.IdentExpr{Value: name}
		id.SetLine(line)
		return id
	}
	var preNames []string
	var preExprs []ast.Expr
	targets := make([]ast.Expr, len(lhs))
	for i, e := range lhs {
		g, ok := e.(*ast.AttrGetExpr)
		if !ok {
			targets[i] = e
			continue
		}
		on := "(obj" + strconv.Itoa(i) + ")"
		preNames = append(preNames, on)
		preExprs = append(preExprs, g.Object)
		var key ast.Expr
		if k, isConst := g.Key.(*ast.StringExpr); isConst {
			key = k
		} else if k, isConst := g.Key.(*ast.NumberExpr); isConst {
			key = k
		} else {
			kn := "(key" + strconv.Itoa(i) + ")"
			preNames = append(preNames, kn)
			preExprs = append(preExprs, g.Key)
			key = ident(kn)
		}
		t := &ast.AttrGetExpr{Object: ident(on), Key: key}
		t.SetLine(g.Line())
		targets[i] = t
	}
	var stmts []ast.Stmt
	if len(preNames) > 0 {
		pre := &ast.LocalAssignStmt{Names: preNames, Exprs: preExprs}
		pre.SetLine(line)
		pre.SetLastLine(last)
		stmts = append(stmts, pre)
	}
	names := make([]string, len(lhs))
	for i := range lhs {
		names[i] = "(val" + strconv.Itoa(i) + ")"
	}
	// Extra right-hand expressions are still evaluated, for their effects.
	vals := &ast.LocalAssignStmt{Names: names, Exprs: rhs}
	vals.SetLine(line)
	vals.SetLastLine(last)
	stmts = append(stmts, vals)
	for i := len(targets) - 1; i >= 0; i-- {
		set := &ast.AssignStmt{Lhs: []ast.Expr{targets[i]}, Rhs: []ast.Expr{ident(names[i])}}
		set.SetLine(line)
		set.SetLastLine(last)
		stmts = append(stmts, set)
	}
	blk := &ast.DoBlockStmt{Stmts: stmts}
	blk.SetLine(line)
	blk.SetLastLine(last)
	return blk
}

// avoidLastParamBug rewrites assignments that gopher-lua v1.1.2 compiles
// wrongly: a call assigned to the function's last parameter through the
// single-value path ("x = (f(x))", "x, y = f(x), 1") loads the callee into
// x's register before the arguments are evaluated. Such a call is wrapped
// as ({call})[1] (or, when it is the last expression and exactly one value
// is needed, its result adjustment is dropped), which compiles correctly.
func (p *parser) avoidLastParamBug(lhs, rhs []ast.Expr) {
	if p.fs.lastParam < 0 {
		return
	}
	for i := 0; i < len(lhs) && i < len(rhs); i++ {
		id, ok := lhs[i].(*ast.IdentExpr)
		if !ok || p.resolveLocal(id.Value) != p.fs.lastParam {
			continue
		}
		call, ok := rhs[i].(*ast.FuncCallExpr)
		if !ok {
			continue
		}
		last := i == len(rhs)-1
		switch {
		case last && !call.AdjustRet:
			// compiled through the multiple-results path: fine
		case last && i == len(lhs)-1:
			call.AdjustRet = false
		default:
			one := &ast.NumberExpr{Value: "1"}
			one.SetLine(call.Line())
			tbl := &ast.TableExpr{Fields: []*ast.Field{{Value: call}}}
			tbl.SetLine(call.Line())
			get := &ast.AttrGetExpr{Object: tbl, Key: one}
			get.SetLine(call.Line())
			rhs[i] = get
		}
	}
}

// resolveLocal returns the index in p.locals of the active local name, or -1.
func (p *parser) resolveLocal(name string) int {
	for i := len(p.locals) - 1; i >= 0; i-- {
		if p.locals[i].name == name {
			return i
		}
	}
	return -1
}

// isParenthesized reports a call wrapped in parentheses ("(f())"), which is
// an expression and not a statement. Only the parser sets AdjustRet on
// calls written by the user, and only for that reason.
func isParenthesized(c *ast.FuncCallExpr) bool { return c.AdjustRet }

// ---- expressions ----

func (p *parser) exprList() []ast.Expr {
	list := []ast.Expr{p.expr()}
	for p.testNext(tChar + ',') {
		list = append(list, p.expr())
	}
	return list
}

func (p *parser) expr() ast.Expr { return p.subExpr(0) }

func (p *parser) nameExpr(name string, line int) ast.Expr {
	e := &ast.IdentExpr{Value: name}
	e.SetLine(line)
	return e
}

func (p *parser) primaryExpr() ast.Expr {
	line := p.tok.line
	switch p.tok.kind {
	case tName:
		name := p.tok.str
		p.advance()
		return p.nameExpr(name, line)
	case tChar + '(':
		p.advance()
		e := p.expr()
		p.checkMatch(tChar+')', tChar+'(', line)
		switch x := e.(type) {
		case *ast.FuncCallExpr:
			x.AdjustRet = true
		case *ast.Comma3Expr:
			x.AdjustRet = true
		}
		return e
	}
	p.errNear("unexpected symbol")
	return nil
}

func (p *parser) suffixedExpr() ast.Expr {
	line := p.tok.line
	e := p.primaryExpr()
	for {
		switch p.tok.kind {
		case tChar + '.':
			p.advance()
			kl := p.tok.line
			key := &ast.StringExpr{Value: p.checkName()}
			key.SetLine(kl)
			g := &ast.AttrGetExpr{Object: e, Key: key}
			g.SetLine(line)
			e = g
		case tChar + '[':
			p.advance()
			k := p.keyExpr(p.expr(), line)
			p.checkNext(tChar + ']')
			g := &ast.AttrGetExpr{Object: e, Key: k}
			g.SetLine(line)
			e = g
		case tChar + ':':
			p.advance()
			name := p.checkName()
			args := p.callArgs(line)
			c := &ast.FuncCallExpr{Receiver: e, Method: name, Args: args}
			c.SetLine(line)
			c.SetLastLine(p.tok.line)
			e = c
		case tChar + '(', tString, tChar + '{':
			args := p.callArgs(line)
			c := &ast.FuncCallExpr{Func: e, Args: args}
			c.SetLine(line)
			c.SetLastLine(p.tok.line)
			e = c
		default:
			return e
		}
	}
}

func (p *parser) callArgs(line int) []ast.Expr {
	switch p.tok.kind {
	case tString:
		s := p.stringExpr()
		return []ast.Expr{s}
	case tChar + '{':
		return []ast.Expr{p.tableCons()}
	case tChar + '(':
		open := p.tok.line
		p.advance()
		if p.tok.kind == tChar+')' {
			p.advance()
			return []ast.Expr{}
		}
		args := p.exprList()
		p.checkMatch(tChar+')', tChar+'(', open)
		return args
	}
	p.errNear("function arguments expected")
	return nil
}

func (p *parser) stringExpr() ast.Expr {
	s := &ast.StringExpr{Value: p.tok.str}
	s.SetLine(p.tok.line)
	p.advance()
	return s
}

func (p *parser) tableCons() ast.Expr {
	line := p.tok.line
	p.checkNext(tChar + '{')
	t := &ast.TableExpr{Fields: []*ast.Field{}}
	t.SetLine(line)
	for p.tok.kind != tChar+'}' {
		switch {
		case p.tok.kind == tName && p.peek().kind == tChar+'=':
			kl := p.tok.line
			key := &ast.StringExpr{Value: p.tok.str}
			key.SetLine(kl)
			p.advance()
			p.advance()
			t.Fields = append(t.Fields, &ast.Field{Key: key, Value: p.expr()})
		case p.tok.kind == tChar+'[':
			p.advance()
			k := p.keyExpr(p.expr(), line)
			p.checkNext(tChar + ']')
			p.checkNext(tChar + '=')
			t.Fields = append(t.Fields, &ast.Field{Key: k, Value: p.expr()})
		default:
			t.Fields = append(t.Fields, &ast.Field{Value: p.expr()})
		}
		if !p.testNext(tChar+',') && !p.testNext(tChar+';') {
			break
		}
	}
	p.checkMatch(tChar+'}', tChar+'{', line)
	t.SetLastLine(p.tok.line)
	return p.fixTable(t)
}

func (p *parser) funcBody(method bool, line int) *ast.FunctionExpr {
	fs := &funcState{parent: p.fs, lastParam: -1}
	p.fs = fs
	n := len(p.locals)
	p.checkNext(tChar + '(')
	pl := &ast.ParList{Names: []string{}}
	if method {
		p.locals = append(p.locals, localVar{name: "self"})
	}
	if p.tok.kind != tChar+')' {
		for {
			if p.tok.kind == tDots {
				p.advance()
				pl.HasVargs = true
				break
			}
			if p.tok.kind != tName {
				p.errNear("<name> or '...' expected")
			}
			name := p.checkName()
			pl.Names = append(pl.Names, name)
			p.locals = append(p.locals, localVar{name: name})
			if !p.testNext(tChar + ',') {
				break
			}
		}
	}
	fs.vararg = pl.HasVargs
	fs.lastParam = len(p.locals) - 1
	if fs.lastParam < n {
		fs.lastParam = -1
	}
	p.checkNext(tChar + ')')
	body := p.statList()
	end := p.tok.line
	p.checkMatch(tEnd, tFunction, line)
	p.locals = p.locals[:n]
	p.fs = fs.parent
	f := &ast.FunctionExpr{ParList: pl, Stmts: body}
	f.SetLine(line)
	f.SetLastLine(end)
	return f
}

func (p *parser) simpleExpr() ast.Expr {
	line := p.tok.line
	var e ast.Expr
	switch p.tok.kind {
	case tNumber:
		e = p.numberExpr(p.tok.num)
		if e == nil {
			p.errNear("malformed number")
		}
	case tString:
		return p.stringExpr()
	case tNil:
		e = &ast.NilExpr{}
	case tTrue:
		e = &ast.TrueExpr{}
	case tFalse:
		e = &ast.FalseExpr{}
	case tDots:
		if !p.fs.vararg {
			p.errNear("cannot use '...' outside a vararg function")
		}
		e = &ast.Comma3Expr{}
	case tChar + '{':
		return p.tableCons()
	case tFunction:
		p.advance()
		return p.funcBody(false, line)
	default:
		return p.suffixedExpr()
	}
	e.SetLine(line)
	p.advance()
	return e
}

// numberExpr is the expression of a numeric constant: a NumberExpr for a
// float or an integer within ±2^53, else a marker constant that Load
// replaces by the boxed integer (see integer.go). It is nil for NaN.
func (p *parser) numberExpr(n numeral) ast.Expr {
	if n.isInt && (n.i > maxExact || n.i < -maxExact) {
		return &ast.StringExpr{Value: p.helper(intMarker + strconv.FormatInt(n.i, 10))}
	}
	s := numberLiteral(n)
	if s == "" {
		return nil
	}
	return &ast.NumberExpr{Value: s}
}

// intMarker starts the marker name of a boxed integer constant.
const intMarker = "int:"

// keyExpr guards a table key expression: gopher-lua compiles a string
// constant key to an instruction that reads the key's text, which would be
// the marker's, so a boxed integer constant key goes through the identity
// helper instead.
func (p *parser) keyExpr(k ast.Expr, line int) ast.Expr {
	if p.isIntMarker(k) {
		return p.helperCall("intkey", line, k)
	}
	return k
}

func (p *parser) subExpr(limit int) ast.Expr {
	var e ast.Expr
	line := p.tok.line
	switch p.tok.kind {
	case tNot, tChar + '-', tChar + '#', tChar + '~':
		op := p.tok.kind
		p.advance()
		operand := p.subExpr(unaryPriority)
		e = p.unary(op, operand, line)
	default:
		e = p.simpleExpr()
	}
	for {
		op := p.tok.kind
		pr, ok := binaryPriority(op)
		if !ok || pr.left <= limit {
			return e
		}
		opLine := p.tok.line
		p.advance()
		rhs := p.subExpr(pr.right)
		e = p.binary(op, e, rhs, opLine)
	}
}

func (p *parser) unary(op tokKind, e ast.Expr, line int) ast.Expr {
	var r ast.Expr
	switch op {
	case tNot:
		r = &ast.UnaryNotOpExpr{Expr: e}
	case tChar + '-':
		if v, ok := p.constValue(e); ok {
			if n := p.numberExpr(negate(v)); n != nil {
				n.SetLine(line)
				return n
			}
		}
		r = &ast.UnaryMinusOpExpr{Expr: e}
	case tChar + '#':
		r = &ast.UnaryLenOpExpr{Expr: e}
	case tChar + '~':
		if v, ok := p.constValue(e); ok {
			if res, err := arithNumerals(opBnot, v, v); err == nil {
				if n := p.numberExpr(res); n != nil {
					n.SetLine(line)
					return n
				}
			}
		}
		return p.helperCall(helperNames[opBnot], line, e)
	}
	r.SetLine(line)
	return r
}

// loweredOp returns the helper's operation of an operator that the parser
// lowers to a helper call (see binary), or -1.
func loweredOp(op tokKind) int {
	switch op {
	case tChar + '&':
		return opBand
	case tChar + '|':
		return opBor
	case tChar + '~':
		return opBxor
	case tShl:
		return opShl
	case tShr:
		return opShr
	case tIdiv:
		return opIdiv
	case tChar + '<':
		return opLt
	case tLe:
		return opLe
	case tChar + '>':
		return opGt
	case tGe:
		return opGe
	}
	return -1
}

func (p *parser) binary(op tokKind, l, r ast.Expr, line int) ast.Expr {
	var e ast.Expr
	switch op {
	case tAnd, tOr:
		name := "and"
		if op == tOr {
			name = "or"
		}
		e = &ast.LogicalOpExpr{Operator: name, Lhs: l, Rhs: r}
	case tEq, tNe:
		name := map[tokKind]string{tEq: "==", tNe: "~="}[op]
		e = &ast.RelationalOpExpr{Operator: name, Lhs: l, Rhs: r}
	case tLe, tGe, tChar + '<', tChar + '>':
		// Lowered: gopher-lua raises when it compares a plain number with
		// a boxed integer, before looking for a metamethod.
		return p.helperCall(helperNames[loweredOp(op)], line, l, r)
	case tConcat:
		e = &ast.StringConcatOpExpr{Lhs: l, Rhs: r}
	case tChar + '+', tChar + '-', tChar + '*', tChar + '/', tChar + '%', tChar + '^':
		name := string(rune(op - tChar))
		if a, ok := p.constValue(l); ok {
			if b, ok := p.constValue(r); ok && (name == "+" || name == "-" || name == "*") {
				code := map[string]int{"+": opAdd, "-": opSub, "*": opMul}[name]
				// Integer constants fold exactly in int64 (1 << 53) + 1,
				// a float constant makes it float arithmetic (1e15 * 1e15).
				v, _ := arithNumerals(code, a, b)
				if n := p.numberExpr(v); n != nil && !(!v.isInt && isNegZero(v.f)) {
					n.SetLine(line)
					return n
				}
			}
		}
		e = &ast.ArithmeticOpExpr{Operator: name, Lhs: l, Rhs: r}
	default:
		code := loweredOp(op)
		if a, ok := p.constValue(l); ok {
			if b, ok := p.constValue(r); ok {
				if v, err := arithNumerals(code, a, b); err == nil {
					if n := p.numberExpr(v); n != nil {
						n.SetLine(line)
						return n
					}
				}
			}
		}
		return p.helperCall(helperNames[code], line, l, r)
	}
	e.SetLine(line)
	return e
}

func isNegZero(v float64) bool { return v == 0 && 1/v < 0 }

// isIntMarker reports whether e is a boxed integer constant.
func (p *parser) isIntMarker(e ast.Expr) bool {
	s, ok := e.(*ast.StringExpr)
	return ok && strings.HasPrefix(s.Value, p.prefix+intMarker)
}

// constValue reports the value of a numeric constant expression.
func (p *parser) constValue(e ast.Expr) (numeral, bool) {
	switch n := e.(type) {
	case *ast.NumberExpr:
		return literalValue(n.Value)
	case *ast.StringExpr:
		if text, ok := strings.CutPrefix(n.Value, p.prefix+intMarker); ok {
			i, err := strconv.ParseInt(text, 10, 64)
			return intNumeral(i), err == nil
		}
	}
	return numeral{}, false
}
