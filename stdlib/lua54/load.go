package lua54

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// varArgsOnce guards the one write of lua.CompatVarArg.
var varArgsOnce sync.Once

// NoArgTable makes gopher-lua compile and run vararg functions as Lua 5.4
// does, without the implicit "arg" table of Lua 5.0 (lua.CompatVarArg =
// false). Load calls it before it compiles, and package stdlib when it
// opens its libraries into a state, so that no chunk is compiled or run
// with the setting still on. The package's initializer does not: a
// process that links the package but runs no Lua (a daemon without a Lua
// ruleset) should not touch the package's code at start.
func NoArgTable() { varArgsOnce.Do(func() { lua.CompatVarArg = false }) }

// Error is a syntax or compile error. Its text is what Lua 5.4 prints:
// "chunk:line: message near 'token'".
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Parse parses Lua 5.4 source into gopher-lua AST statements. Lua 5.3/5.4
// operators gopher-lua lacks (& | ~ << >> // and unary ~), and < <= > >=
// (so that boxed integers compare with plain numbers), are lowered to
// calls whose callee is a marker string constant that Load replaces by a
// native helper; integer constants beyond ±2^53 are marker constants that
// Load replaces by boxed integers. Parse is meant for tools and tests that
// inspect the tree.
func Parse(src []byte, chunkname string) ([]ast.Stmt, error) {
	stmts, _, err := parse(src, chunkname)
	return stmts, err
}

func parse(src []byte, chunkname string) (stmts []ast.Stmt, p *parser, err error) {
	prefix := markerRoot
	for attempt := 0; attempt < 8; attempt++ {
		stmts, p, err = parseWith(src, chunkname, prefix)
		if err != nil {
			return nil, nil, err
		}
		clash := false
		for name := range p.used {
			if p.strs[prefix+name] {
				clash = true
			}
		}
		if !clash {
			return stmts, p, nil
		}
		// A user string literal equals a marker: pick another prefix.
		prefix += "\x00"
	}
	return nil, nil, &Error{Msg: ChunkID(chunkname) + ": cannot choose operator markers"}
}

func parseWith(src []byte, chunkname, prefix string) (stmts []ast.Stmt, p *parser, err error) {
	p = &parser{
		lx:     &lexer{src: src, line: 1, chunk: ChunkID(chunkname)},
		fs:     &funcState{vararg: true, lastParam: -1},
		prefix: prefix,
		used:   map[string]bool{},
		strs:   map[string]bool{},
	}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			stmts, err = nil, &Error{Msg: se.msg}
		}
	}()
	p.advance()
	stmts = p.statList()
	if p.tok.kind != tEOF {
		p.errNear("'<eof>' expected")
	}
	return stmts, p, nil
}

// Load compiles Lua 5.4 source into a function in L without calling it.
// chunkname follows Lua ("=ruleset", "@file.lua", or the source itself).
// The function's environment is L's global table; callers that want a
// sandbox replace fn.Env. The lowered operators do not depend on the
// environment. Errors are *Error with Lua's message text.
func Load(L *lua.LState, src []byte, chunkname string) (*lua.LFunction, error) {
	NoArgTable()
	stmts, p, err := parse(src, chunkname)
	if err != nil {
		return nil, err
	}
	chunk := ChunkID(chunkname)
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			// gopher-lua reports goto errors one line past the chunk's end;
			// Lua reports them where the enclosing block closes.
			line := min(ce.Line, p.lx.line)
			return nil, &Error{Msg: fmt.Sprintf("%s:%d: %s", chunk, line, ce.Message)}
		}
		return nil, &Error{Msg: chunk + ": " + err.Error()}
	}
	if len(p.used) > 0 {
		helpers := map[string]lua.LValue{}
		for op, name := range helperNames {
			if name != "" && p.used[name] {
				helpers[p.prefix+name] = newHelper(L, op)
			}
		}
		for name := range p.used {
			if text, ok := strings.CutPrefix(name, intMarker); ok {
				i, _ := strconv.ParseInt(text, 10, 64)
				helpers[p.prefix+name] = Integer(i)
			}
		}
		if p.used["intkey"] {
			helpers[p.prefix+"intkey"] = L.NewFunction(func(L *lua.LState) int { return 1 })
		}
		if p.used["closecheck"] {
			for name, v := range closeHelpers(L) {
				helpers[p.prefix+name] = v
			}
		}
		if p.used["tablector"] {
			helpers[p.prefix+"tablector"] = newTableCtor(L)
		}
		patchProto(proto, helpers)
	}
	if strings.HasPrefix(chunkname, "@") || strings.HasPrefix(chunkname, "=") {
		chunkNames(L).RawSetString(chunk, lua.LString(chunkname))
	}
	return L.NewFunctionFromProto(proto), nil
}

// chunkNamesKey is the registry field mapping printed chunk names back to
// the chunk names given to Load.
const chunkNamesKey = "lua54.chunknames"

func chunkNames(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if t, ok := reg.RawGetString(chunkNamesKey).(*lua.LTable); ok {
		return t
	}
	t := L.NewTable()
	reg.RawSetString(chunkNamesKey, t)
	return t
}

// SourceName maps the source name gopher-lua stores for a chunk loaded by
// Load (its printed form, so that runtime errors read "chunk:line:") back
// to the chunk name given to Load, as Lua's debug.getinfo "source" field
// reports it. Unknown names are returned unchanged.
func SourceName(L *lua.LState, printed string) string {
	if s, ok := chunkNames(L).RawGetString(printed).(lua.LString); ok {
		return string(s)
	}
	return printed
}

// patchProto replaces the marker string constants by the helper functions.
func patchProto(fp *lua.FunctionProto, helpers map[string]lua.LValue) {
	for i, c := range fp.Constants {
		if s, ok := c.(lua.LString); ok && strings.HasPrefix(string(s), markerRoot) {
			if h, ok := helpers[string(s)]; ok {
				fp.Constants[i] = h
			}
		}
	}
	for _, child := range fp.FunctionPrototypes {
		patchProto(child, helpers)
	}
}

// ChunkID is Lua's luaO_chunkid: the printed form of a chunk name used in
// messages ("=stdin" → "stdin", "@f.lua" → "f.lua", source text →
// `[string "..."]`), truncated to Lua's LUA_IDSIZE of 60 bytes.
func ChunkID(name string) string {
	const idsize = 60
	switch {
	case strings.HasPrefix(name, "="):
		if len(name) <= idsize {
			return name[1:]
		}
		return name[1:idsize]
	case strings.HasPrefix(name, "@"):
		if len(name) <= idsize {
			return name[1:]
		}
		return "..." + name[len(name)-(idsize-4):]
	}
	const avail = idsize - len(`[string "`) - len(`..."]`) - 1
	nl := strings.IndexByte(name, '\n')
	if len(name) < avail && nl < 0 {
		return `[string "` + name + `"]`
	}
	s := name
	if nl >= 0 {
		s = s[:nl]
	}
	if len(s) > avail {
		s = s[:avail]
	}
	return `[string "` + s + `..."]`
}

// literalValue reads back a NumberExpr value produced by numberLiteral.
func literalValue(s string) (numeral, bool) { return decimalValue(s, true) }
