package stdlib

// Lua 5.4 library shims for gopher-lua (a Lua 5.1 VM).
//
// OpenCompat makes the globals neosocksd scripts use behave like Lua 5.4 and
// routes every way source enters the VM through the Lua 5.4 front end in
// package lua54. Operators (& | ~ << >> //, unary ~), goto, <const>, string
// escapes and numeric literals are a parser matter handled by lua54; see
// its package documentation for the language table.
//
// Library compatibility (numbers within ±2^53 are float64, integers beyond
// are lua54's exact boxed integers):
//
//	| Function                               | Status                                                         |
//	|----------------------------------------|----------------------------------------------------------------|
//	| load (string or reader function)       | yes: chunkname, mode "t"/"b"/"bt", env; binary chunks rejected |
//	| loadstring, dofile, loadfile           | yes, through lua54 (loadfile: mode and env too)                |
//	| require (Lua files)                    | yes: package.path with "?", dots → "/", chunk "@file", (name, path) passed |
//	| package.searchers, package.searchpath  | yes (searchers is the same table as package.loaders)           |
//	| table.unpack, table.pack, table.move   | yes                                                            |
//	| table.concat                           | 5.4: numbers as tostring, __index honoured, no clamping        |
//	| type, tonumber (with and without base) | 5.4: boxed integers are "number"; integer numerals exact       |
//	| math.type                              | boxed integers, and integral plain values within ±2^53, report "integer" |
//	| math.tointeger, math.ult               | yes, exact                                                     |
//	| math.abs, max, min, floor, ceil        | exact for integers; other math.* take boxed integers as floats |
//	| math.maxinteger, math.mininteger       | exact (boxed integers)                                         |
//	| _VERSION                               | "Lua 5.4"                                                      |
//	| math.huge                              | +inf (gopher-lua's is the largest finite float)                |
//	| utf8.*                                 | char, charpattern, codepoint, len, offset, codes (incl. lax)   |
//	| string.format                          | 5.4 conversions incl. %q (5.4 escaping), %i, %a; %d %x %X %o %q exact on 64-bit integers |
//	| string.lower, string.upper             | ASCII only, as C Lua in the "C" locale                         |
//	| os.date                                | C99 strftime codes incl. %F %T %z %V %G, "*t" and "!*t"       |
//	| os.exit(code)                          | flushes stdout, exits with code (true → 0, false → 1)          |
//	| bit32.*                                | yes (5.2 library, 32-bit)                                      |
//	| coroutine.isyieldable, running, status | the host layer's (coroutine.go): a protected call's body sees its caller's thread; running returns (co, ismain) |
//	| pcall, xpcall                          | the host layer's (pcall.go): the body runs in a thread of its own (upvalues stay shared); xpcall passes extra arguments; a yield inside passes through |
//	| select('#'), rawequal, rawlen          | yes                                                            |
//	| debug.getinfo                          | adds short_src; source is the name given to load ("@f.lua")     |
//	| print, tostring                        | numbers formatted as Lua's "%.14g"; integral floats within ±2^53 print as integers; print (the host layer's) writes to Host.Stdout |
//	| string.pack, string.unpack, string.packsize | not provided                                              |
//	| warn, collectgarbage("generational")   | not provided by this file                                      |
//
// It must not open files other than those a script asks to load, and it
// must not run Lua code of its own.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// compatStdout is where print writes (unbuffered); nil is os.Stdout. It
// is not set to os.Stdout by the package's initializer, so that the
// package has none: a daemon without a Lua ruleset runs none of its code.
var compatStdout io.Writer

// stdout is where print writes.
func stdout() io.Writer {
	if compatStdout == nil {
		return os.Stdout
	}
	return compatStdout
}

// OpenCompat installs the Lua 5.4 shims into L with the host layer of a
// synchronous embedder (the zero Host). The base, table, string, math,
// os, coroutine and package libraries must already be open.
func OpenCompat(L *lua.LState) {
	openCompat(L)
	InstallHost(L, Host{})
}

// openCompat installs the Lua 5.4 shims but not the host's functions.
func openCompat(L *lua.LState) {
	lua54.NoArgTable()
	g := L.G.Global
	set := func(t *lua.LTable, name string, fn lua.LGFunction) {
		t.RawSetString(name, L.NewFunction(fn))
	}
	set(g, "load", compatLoad)
	set(g, "loadstring", compatLoadString)
	set(g, "dofile", compatDofile)
	set(g, "loadfile", compatLoadfile)
	set(g, "rawlen", compatRawlen)
	set(g, "rawequal", compatRawequal)
	set(g, "tostring", compatTostring)
	set(g, "select", compatSelect)
	set(g, "type", func(L *lua.LState) int { L.Push(lua.LString(lua54.TypeName(L.CheckAny(1)))); return 1 })
	set(g, "tonumber", compatTonumber)
	g.RawSetString("_VERSION", lua.LString("Lua 5.4"))

	if t, ok := g.RawGetString("table").(*lua.LTable); ok {
		set(t, "unpack", compatUnpack)
		set(t, "pack", compatPack)
		set(t, "move", compatMove)
		set(t, "concat", compatConcat)
		if orig, ok := t.RawGetString("sort").(*lua.LFunction); ok && orig.IsG {
			set(t, "sort", compatSort(orig.GFunction, L.NewFunction(func(L *lua.LState) int {
				L.Push(lua.LBool(lua54.LessThan(L, L.Get(1), L.Get(2))))
				return 1
			})))
		}
	}
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		set(m, "type", compatMathType)
		set(m, "tointeger", compatToInteger)
		set(m, "ult", compatUlt)
		floatArgs(L, m, "acos", "asin", "atan", "atan2", "cos", "cosh", "deg", "exp", "fmod", "frexp",
			"ldexp", "log", "log10", "modf", "pow", "rad", "random", "randomseed", "sin", "sinh", "sqrt",
			"tan", "tanh")
		set(m, "abs", compatAbs)
		set(m, "max", func(L *lua.LState) int { return compatMinMax(L, 1) })
		set(m, "min", func(L *lua.LState) int { return compatMinMax(L, -1) })
		set(m, "floor", func(L *lua.LState) int { return compatRound(L, math.Floor) })
		set(m, "ceil", func(L *lua.LState) int { return compatRound(L, math.Ceil) })
		m.RawSetString("maxinteger", lua54.Integer(math.MaxInt64))
		m.RawSetString("mininteger", lua54.Integer(math.MinInt64))
		m.RawSetString("huge", lua.LNumber(math.Inf(1)))
	}
	if s, ok := g.RawGetString("string").(*lua.LTable); ok {
		set(s, "format", compatFormat)
		set(s, "lower", func(L *lua.LState) int { L.Push(lua.LString(addr.Lower(L.CheckString(1)))); return 1 })
		set(s, "upper", func(L *lua.LState) int { L.Push(lua.LString(addr.Upper(L.CheckString(1)))); return 1 })
	}
	if o, ok := g.RawGetString("os").(*lua.LTable); ok {
		set(o, "date", compatDate)
		set(o, "exit", compatExit)
	}
	if p, ok := g.RawGetString("package").(*lua.LTable); ok {
		set(p, "searchpath", compatSearchpath)
		if loaders, ok := p.RawGetString("loaders").(*lua.LTable); ok {
			loaders.RawSetInt(2, L.NewFunction(compatLuaSearcher))
			p.RawSetString("searchers", loaders)
		}
	}
	if d, ok := g.RawGetString("debug").(*lua.LTable); ok {
		if orig, ok := d.RawGetString("setmetatable").(*lua.LFunction); ok && orig.IsG {
			// Boxed integers are shared by every LState: their metatable
			// must not change (Lua would change all numbers' at once).
			set(d, "setmetatable", func(L *lua.LState) int {
				if _, ok := lua54.BigInteger(L.Get(1)); ok {
					L.RaiseError("cannot change the metatable of an integer")
				}
				return orig.GFunction(L)
			})
		}
		if orig, ok := d.RawGetString("getinfo").(*lua.LFunction); ok && orig.IsG {
			set(d, "getinfo", compatGetinfo(orig.GFunction))
		}
	}
	utf := L.NewTable()
	set(utf, "char", utf8Char)
	utf.RawSetString("charpattern", lua.LString("[\x00-\x7F\xC2-\xFD][\x80-\xBF]*"))
	set(utf, "codepoint", utf8Codepoint)
	set(utf, "len", utf8Len)
	set(utf, "offset", utf8Offset)
	set(utf, "codes", utf8Codes)
	g.RawSetString("utf8", utf)
	registerLoaded(L, "utf8", utf)
	bit := L.NewTable()
	openBit32(L, bit)
	g.RawSetString("bit32", bit)
	registerLoaded(L, "bit32", bit)
}

func registerLoaded(L *lua.LState, name string, v lua.LValue) {
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString(name, v)
	}
}

// ---- loading ----

// LoadFile reads a Lua source file the way neosocksd reads -r/-c scripts:
// "-" is standard input; gzip data (magic 1F 8B) is decompressed and a
// truncated stream is an error; a UTF-8 BOM is skipped and UTF-16/UTF-32
// BOMs are rejected; a first line starting with '#' is skipped (its
// newline kept so line numbers stay right); binary chunks are rejected.
// The chunk name is "@path" ("=stdin" for "-").
func LoadFile(L *lua.LState, path string) (*lua.LFunction, error) {
	src, chunkname, err := readSource(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(src, []byte("\x1bLua")) {
		return nil, errors.New("attempt to load a binary chunk (mode is 't')")
	}
	return lua54.Load(L, src, chunkname)
}

// loadChunk compiles src with the given mode and optional environment; it
// returns nil and Lua's message on failure.
func loadChunk(L *lua.LState, src []byte, chunkname, mode string, env lua.LValue, hasEnv bool) (*lua.LFunction, string) {
	binary := bytes.HasPrefix(src, []byte("\x1bLua"))
	if binary && !strings.Contains(mode, "b") {
		return nil, fmt.Sprintf("attempt to load a binary chunk (mode is '%s')", mode)
	}
	if !binary && !strings.Contains(mode, "t") {
		return nil, fmt.Sprintf("attempt to load a text chunk (mode is '%s')", mode)
	}
	if binary {
		return nil, lua54.ChunkID(chunkname) + ": binary chunks are not supported"
	}
	fn, err := lua54.Load(L, src, chunkname)
	if err != nil {
		return nil, err.Error()
	}
	if hasEnv {
		fn.Env = envTable(L, env)
	}
	return fn, ""
}

// envTable maps load's env argument to a gopher-lua environment table. A
// non-table env (nil included) becomes a table whose every access raises
// the error Lua gives for indexing a nil _ENV.
func envTable(L *lua.LState, env lua.LValue) *lua.LTable {
	if t, ok := env.(*lua.LTable); ok {
		return t
	}
	t := L.NewTable()
	mt := L.NewTable()
	msg := fmt.Sprintf("attempt to index a %s value (upvalue '_ENV')", env.Type())
	raise := L.NewFunction(func(L *lua.LState) int { L.RaiseError("%s", msg); return 0 })
	mt.RawSetString("__index", raise)
	mt.RawSetString("__newindex", raise)
	L.SetMetatable(t, mt)
	return t
}

func compatLoad(L *lua.LState) int {
	chunk := L.CheckAny(1)
	var src []byte
	var defName string
	switch c := chunk.(type) {
	case lua.LString:
		src = []byte(string(c))
		defName = string(c)
	case *lua.LFunction:
		defName = "=(load)"
		var buf bytes.Buffer
		for i := 0; ; i++ {
			L.Push(c)
			L.Call(0, 1)
			piece := L.Get(-1)
			L.Pop(1)
			if piece == lua.LNil {
				break
			}
			s, ok := piece.(lua.LString)
			if !ok {
				L.Push(lua.LNil)
				L.Push(lua.LString("reader function must return a string"))
				return 2
			}
			if s == "" {
				break
			}
			buf.WriteString(string(s))
		}
		src = buf.Bytes()
	default:
		L.TypeError(1, lua.LTString)
	}
	name := L.OptString(2, defName)
	mode := L.OptString(3, "bt")
	fn, msg := loadChunk(L, src, name, mode, L.Get(4), L.GetTop() >= 4)
	return pushLoaded(L, fn, msg)
}

// pushLoaded returns a load result to Lua: the loaded function, or nil and
// the message saying why there is none.
func pushLoaded(L *lua.LState, fn *lua.LFunction, msg string) int {
	if fn == nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	L.Push(fn)
	return 1
}

func compatLoadString(L *lua.LState) int {
	src := L.CheckString(1)
	name := L.OptString(2, src)
	fn, msg := loadChunk(L, []byte(src), name, "bt", lua.LNil, false)
	return pushLoaded(L, fn, msg)
}

func compatLoadfile(L *lua.LState) int {
	path := L.OptString(1, "-")
	mode := L.OptString(2, "bt")
	src, chunkname, err := readSource(path)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	fn, msg := loadChunk(L, src, chunkname, mode, L.Get(3), L.GetTop() >= 3)
	return pushLoaded(L, fn, msg)
}

func compatDofile(L *lua.LState) int {
	path := L.OptString(1, "-")
	fn, err := LoadFile(L, path)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, lua.MultRet)
	return L.GetTop() - top
}

// compatSearchpath is package.searchpath(name, path [, sep [, rep]]).
func compatSearchpath(L *lua.LState) int {
	name := L.CheckString(1)
	path := L.CheckString(2)
	sep := L.OptString(3, ".")
	rep := L.OptString(4, "/")
	found, msg := searchPath(name, path, sep, rep)
	if found == "" {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	L.Push(lua.LString(found))
	return 1
}

func searchPath(name, path, sep, rep string) (string, string) {
	if sep != "" {
		name = strings.ReplaceAll(name, sep, rep)
	}
	var msg strings.Builder
	for _, tmpl := range strings.Split(path, ";") {
		if tmpl == "" {
			continue
		}
		file := strings.ReplaceAll(tmpl, "?", name)
		if f, err := os.Open(file); err == nil {
			f.Close()
			return file, ""
		}
		msg.WriteString("\n\tno file '" + file + "'")
	}
	return "", msg.String()
}

// compatLuaSearcher is the Lua-source searcher of require: it finds name
// on package.path and returns a loader that runs the chunk with (name,
// path), as Lua 5.4 does.
func compatLuaSearcher(L *lua.LState) int {
	name := L.CheckString(1)
	path, ok := L.GetField(L.GetGlobal("package"), "path").(lua.LString)
	if !ok {
		L.RaiseError("'package.path' must be a string")
	}
	file, msg := searchPath(name, string(path), ".", "/")
	if file == "" {
		L.Push(lua.LString(msg))
		return 1
	}
	fn, err := LoadFile(L, file)
	if err != nil {
		L.RaiseError("error loading module '%s' from file '%s':\n\t%s", name, file, err.Error())
	}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		top := L.GetTop()
		L.Push(fn)
		L.Push(lua.LString(name))
		L.Push(lua.LString(file))
		L.Call(2, lua.MultRet)
		return L.GetTop() - top
	}))
	return 1
}

// ---- base ----

func compatRawlen(L *lua.LState) int {
	switch v := L.Get(1).(type) {
	case *lua.LTable:
		L.Push(lua.LNumber(v.Len()))
	case lua.LString:
		L.Push(lua.LNumber(len(v)))
	default:
		L.ArgError(1, "table or string expected")
	}
	return 1
}

func compatRawequal(L *lua.LState) int {
	L.Push(lua.LBool(L.CheckAny(1) == L.CheckAny(2)))
	return 1
}

func compatSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && s == "#" {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := L.CheckInt(1)
	if i < 0 {
		i = n + i
		if i < 1 {
			L.ArgError(1, "index out of range")
		}
	} else if i == 0 {
		L.ArgError(1, "index out of range")
	} else if i >= n {
		return 0
	}
	return n - i
}

// tostringValue is tostring with Lua 5.4 number formatting.
func tostringValue(L *lua.LState, v lua.LValue) string {
	if s, ok := lua54.FormatValue(v); ok {
		return s
	}
	if L.GetMetaField(v, "__tostring") == lua.LNil {
		if name, ok := L.GetMetaField(v, "__name").(lua.LString); ok {
			if t, isTable := v.(*lua.LTable); isTable {
				return fmt.Sprintf("%s: %p", name, t)
			}
		}
	}
	s := L.ToStringMeta(v)
	if _, ok := s.(lua.LString); !ok && L.GetMetaField(v, "__tostring") != lua.LNil {
		L.RaiseError("'__tostring' must return a string")
	}
	return s.String()
}

func compatTostring(L *lua.LState) int {
	L.Push(lua.LString(tostringValue(L, L.CheckAny(1))))
	return 1
}

// compatGetinfo wraps gopher-lua's debug.getinfo: "source" becomes the
// chunk name given to load ("@file.lua", "=ruleset") and "short_src" is
// added (the printed form, as in error messages).
func compatGetinfo(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := orig(L)
		if n != 1 {
			return n
		}
		t, ok := L.Get(-1).(*lua.LTable)
		if !ok {
			return n
		}
		if src, ok := t.RawGetString("source").(lua.LString); ok {
			printed := string(src)
			if printed == "[G]" || printed == "" {
				t.RawSetString("source", lua.LString("=[C]"))
				t.RawSetString("short_src", lua.LString("[C]"))
				t.RawSetString("what", lua.LString("C"))
			} else {
				t.RawSetString("source", lua.LString(lua54.SourceName(L, printed)))
				t.RawSetString("short_src", src)
			}
		}
		return n
	}
}

// ---- table ----

func compatUnpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	j := L.OptInt(3, t.Len())
	if i > j {
		return 0
	}
	n := j - i + 1
	if n <= 0 || n > 1<<20 {
		L.RaiseError("too many results to unpack")
	}
	for k := i; k <= j; k++ {
		L.Push(t.RawGetInt(k))
	}
	return n
}

func compatPack(L *lua.LState) int {
	n := L.GetTop()
	t := L.CreateTable(n, 1)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, L.Get(i))
	}
	t.RawSetString("n", lua.LNumber(n))
	L.Push(t)
	return 1
}

// compatConcat is Lua 5.4's table.concat: strings and numbers (formatted
// as tostring does, boxed integers exact) from t[i] to t[j], read with
// __index as lua_geti does; anything else raises.
func compatConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := optInteger(L, 3, 1)
	j := int64(t.Len())
	if L.Get(4) != lua.LNil {
		j = checkInteger(L, 4)
	}
	var b strings.Builder
	for k := i; k <= j; k++ {
		v := L.GetTable(t, lua54.Integer(k))
		s, ok := v.(lua.LString)
		if !ok {
			f, isNum := lua54.FormatValue(v)
			if !isNum {
				L.RaiseError("invalid value (%s) at index %d in table for 'concat'", lua54.TypeName(v), k)
			}
			s = lua.LString(f)
		}
		b.WriteString(string(s))
		if k == j {
			break // j may be math.maxinteger
		}
		b.WriteString(sep)
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// compatSort wraps gopher-lua's table.sort: without a comparator, a list
// holding a boxed integer is sorted with Lua 5.4's < (less), because
// gopher-lua's own comparison rejects a boxed integer next to a plain
// number.
func compatSort(orig lua.LGFunction, less *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if L.Get(2) == lua.LNil {
			t := L.CheckTable(1)
			for i := 1; i <= t.Len(); i++ {
				if _, ok := lua54.BigInteger(t.RawGetInt(i)); ok {
					L.SetTop(1)
					L.Push(less)
					break
				}
			}
		}
		return orig(L)
	}
}

// compatMove is table.move(a1, f, e, t [, a2]).
func compatMove(L *lua.LState) int {
	a1 := L.CheckTable(1)
	f := L.CheckInt(2)
	e := L.CheckInt(3)
	t := L.CheckInt(4)
	a2 := a1
	if L.GetTop() >= 5 {
		a2 = L.CheckTable(5)
	}
	if e >= f {
		if !(f > 0 || e < math.MaxInt64+f) {
			L.ArgError(3, "too many elements to move")
		}
		if t > e || t <= f || a1 != a2 {
			for i := 0; i <= e-f; i++ {
				L.SetTable(a2, lua.LNumber(t+i), L.GetTable(a1, lua.LNumber(f+i)))
			}
		} else {
			for i := e - f; i >= 0; i-- {
				L.SetTable(a2, lua.LNumber(t+i), L.GetTable(a1, lua.LNumber(f+i)))
			}
		}
	}
	L.Push(a2)
	return 1
}

// ---- math ----

func isInteger(v float64) (int64, bool) {
	if v != math.Trunc(v) || v < -9223372036854775808.0 || v >= 9223372036854775808.0 {
		return 0, false
	}
	return int64(v), true
}

func compatMathType(L *lua.LState) int {
	if t := lua54.MathType(L.CheckAny(1)); t != "" {
		L.Push(lua.LString(t))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// compatToInteger is math.tointeger: numbers and numeric strings with an
// exact integer value, else nil.
func compatToInteger(L *lua.LState) int {
	v := L.Get(1)
	if s, ok := v.(lua.LString); ok {
		n, ok := lua54.StringToValue(string(s))
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		v = n
	}
	if i, ok := lua54.IsInteger(v); ok {
		L.Push(lua54.Integer(i))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// checkNumber is L.CheckNumber that also accepts boxed integers (as the
// nearest float) and numeric strings.
func checkNumber(L *lua.LState, n int) float64 {
	v := L.Get(n)
	if f, ok := lua54.ToFloat(v); ok {
		return f
	}
	return float64(L.CheckNumber(n))
}

// checkInteger reads argument n as an integer: boxed integers, integral
// plain numbers and numeric strings with an integer value.
func checkInteger(L *lua.LState, n int) int64 {
	v := L.Get(n)
	if s, ok := v.(lua.LString); ok {
		if x, ok := lua54.StringToValue(string(s)); ok {
			v = x
		}
	}
	if i, ok := lua54.IsInteger(v); ok {
		return i
	}
	if !lua54.IsNumber(v) {
		L.TypeError(n, lua.LTNumber)
	}
	L.ArgError(n, "number has no integer representation")
	return 0
}

func compatUlt(L *lua.LState) int {
	a := checkInteger(L, 1)
	b := checkInteger(L, 2)
	L.Push(lua.LBool(uint64(a) < uint64(b)))
	return 1
}

// floatArgs wraps the Go functions t[names...] so that boxed integer
// arguments reach them as the nearest float (gopher-lua's own math
// functions only take plain numbers).
func floatArgs(L *lua.LState, t *lua.LTable, names ...string) {
	for _, name := range names {
		orig, ok := t.RawGetString(name).(*lua.LFunction)
		if !ok || !orig.IsG {
			continue
		}
		fn := orig.GFunction
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			for i := 1; i <= L.GetTop(); i++ {
				if n, ok := lua54.BigInteger(L.Get(i)); ok {
					L.Replace(i, lua.LNumber(n))
				}
			}
			return fn(L)
		}))
	}
}

// compatAbs is math.abs; integers stay exact (math.abs(math.mininteger)
// wraps to itself, as in Lua).
func compatAbs(L *lua.LState) int {
	if i, ok := lua54.BigInteger(L.Get(1)); ok {
		if i < 0 {
			i = -i
		}
		L.Push(lua54.Integer(i))
		return 1
	}
	L.Push(lua.LNumber(math.Abs(checkNumber(L, 1))))
	return 1
}

// compatMinMax is math.max (sign 1) and math.min (sign -1): the first
// extreme argument, compared exactly (boxed integers included).
func compatMinMax(L *lua.LState, sign int) int {
	best := numberArg(L, 1)
	for i := 2; i <= L.GetTop(); i++ {
		v := numberArg(L, i)
		if sign > 0 && lua54.Less(best, v) || sign < 0 && lua54.Less(v, best) {
			best = v
		}
	}
	L.Push(best)
	return 1
}

// numberArg reads argument n as a number value (numeric strings
// converted), raising Lua's type error otherwise.
func numberArg(L *lua.LState, n int) lua.LValue {
	v := L.Get(n)
	if lua54.IsNumber(v) {
		return v
	}
	if s, ok := v.(lua.LString); ok {
		if x, ok := lua54.StringToValue(string(s)); ok {
			return x
		}
	}
	L.TypeError(n, lua.LTNumber)
	return nil
}

// compatRound is math.floor / math.ceil: integers are returned unchanged,
// floats rounded.
func compatRound(L *lua.LState, round func(float64) float64) int {
	if _, ok := lua54.BigInteger(L.Get(1)); ok {
		L.Push(L.Get(1))
		return 1
	}
	f := round(checkNumber(L, 1))
	if i, ok := isInteger(f); ok {
		L.Push(lua54.Integer(i))
	} else {
		L.Push(lua.LNumber(f))
	}
	return 1
}

// compatTonumber is Lua 5.4's tonumber: numbers unchanged; strings read as
// Lua numerals (integers exact); with a base, an integer numeral in that
// base (wrapping modulo 2^64 as Lua does).
func compatTonumber(L *lua.LState) int {
	v := L.CheckAny(1)
	if L.Get(2) == lua.LNil {
		if lua54.IsNumber(v) {
			L.Push(v)
			return 1
		}
		if s, ok := v.(lua.LString); ok {
			if n, ok := lua54.StringToValue(string(s)); ok {
				L.Push(n)
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	base := checkInteger(L, 2)
	s, ok := v.(lua.LString)
	if !ok {
		L.TypeError(1, lua.LTString)
	}
	if base < 2 || base > 36 {
		L.ArgError(2, "base out of range")
	}
	if i, ok := parseIntBase(string(s), base); ok {
		L.Push(lua54.Integer(i))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// parseIntBase is tonumber(s, base): optional surrounding white space and
// a '-', at least one digit, wrapping arithmetic.
func parseIntBase(s string, base int64) (int64, bool) {
	s = strings.Trim(s, " \t\n\r\f\v")
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*uint64(base) + uint64(d)
	}
	if neg {
		n = -n
	}
	return int64(n), true
}

// ---- os ----

func compatExit(L *lua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case lua.LBool:
		if !v {
			code = 1
		}
	case lua.LNumber:
		code = int(v)
	}
	flushLuaStdout(L)
	os.Stdout.Sync()
	os.Exit(code)
	return 0
}

func compatDate(L *lua.LState) int {
	format := L.OptString(1, "%c")
	t := time.Now()
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		t = time.Unix(checkInteger(L, 2), 0)
	}
	if strings.HasPrefix(format, "!") {
		format = format[1:]
		t = t.UTC()
	} else {
		t = t.Local()
	}
	if strings.HasPrefix(format, "*t") {
		tbl := L.CreateTable(0, 9)
		tbl.RawSetString("year", lua.LNumber(t.Year()))
		tbl.RawSetString("month", lua.LNumber(t.Month()))
		tbl.RawSetString("day", lua.LNumber(t.Day()))
		tbl.RawSetString("hour", lua.LNumber(t.Hour()))
		tbl.RawSetString("min", lua.LNumber(t.Minute()))
		tbl.RawSetString("sec", lua.LNumber(t.Second()))
		tbl.RawSetString("wday", lua.LNumber(int(t.Weekday())+1))
		tbl.RawSetString("yday", lua.LNumber(t.YearDay()))
		tbl.RawSetString("isdst", lua.LBool(t.IsDST()))
		L.Push(tbl)
		return 1
	}
	s, err := Strftime(format, t)
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(lua.LString(s))
	return 1
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// Strftime formats t with C99 strftime conversions in the "C" locale, as
// Lua's os.date does. An unknown conversion is an error naming it.
func Strftime(format string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("invalid conversion specifier '%%'")
		}
		c = format[i]
		if c == 'E' || c == 'O' {
			if i+1 >= len(format) || !strings.ContainsRune(map[byte]string{'E': "cCxXyY", 'O': "deHImMSuUVwWy"}[c], rune(format[i+1])) {
				end := min(i+2, len(format))
				return "", fmt.Errorf("invalid conversion specifier '%%%s'", format[i:end])
			}
			i++
			c = format[i]
		}
		s, ok := strftimeOne(c, t)
		if !ok {
			return "", fmt.Errorf("invalid conversion specifier '%%%c'", c)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func strftimeOne(c byte, t time.Time) (string, bool) {
	d2 := func(n int) string { return fmt.Sprintf("%02d", n) }
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	switch c {
	case 'a':
		return weekdays[t.Weekday()][:3], true
	case 'A':
		return weekdays[t.Weekday()], true
	case 'b', 'h':
		return months[t.Month()-1][:3], true
	case 'B':
		return months[t.Month()-1], true
	case 'c':
		return fmt.Sprintf("%s %s %2d %02d:%02d:%02d %d", weekdays[t.Weekday()][:3], months[t.Month()-1][:3], t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year()), true
	case 'C':
		return d2(t.Year() / 100), true
	case 'd':
		return d2(t.Day()), true
	case 'D':
		return fmt.Sprintf("%02d/%02d/%02d", t.Month(), t.Day(), t.Year()%100), true
	case 'e':
		return fmt.Sprintf("%2d", t.Day()), true
	case 'F':
		return fmt.Sprintf("%d-%02d-%02d", t.Year(), t.Month(), t.Day()), true
	case 'g':
		y, _ := t.ISOWeek()
		return d2(y % 100), true
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.Itoa(y), true
	case 'H':
		return d2(t.Hour()), true
	case 'I':
		return d2(hour12), true
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay()), true
	case 'm':
		return d2(int(t.Month())), true
	case 'M':
		return d2(t.Minute()), true
	case 'n':
		return "\n", true
	case 'p':
		if t.Hour() < 12 {
			return "AM", true
		}
		return "PM", true
	case 'r':
		p, _ := strftimeOne('p', t)
		return fmt.Sprintf("%02d:%02d:%02d %s", hour12, t.Minute(), t.Second(), p), true
	case 'R':
		return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute()), true
	case 'S':
		return d2(t.Second()), true
	case 't':
		return "\t", true
	case 'T', 'X':
		return fmt.Sprintf("%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second()), true
	case 'u':
		w := int(t.Weekday())
		if w == 0 {
			w = 7
		}
		return strconv.Itoa(w), true
	case 'U':
		return d2((t.YearDay() + 6 - int(t.Weekday())) / 7), true
	case 'V':
		_, w := t.ISOWeek()
		return d2(w), true
	case 'w':
		return strconv.Itoa(int(t.Weekday())), true
	case 'W':
		return d2((t.YearDay() + 6 - (int(t.Weekday())+6)%7) / 7), true
	case 'x':
		return fmt.Sprintf("%02d/%02d/%02d", t.Month(), t.Day(), t.Year()%100), true
	case 'y':
		return d2(t.Year() % 100), true
	case 'Y':
		return strconv.Itoa(t.Year()), true
	case 'z':
		_, off := t.Zone()
		sign := '+'
		if off < 0 {
			sign = '-'
			off = -off
		}
		return fmt.Sprintf("%c%02d%02d", sign, off/3600, off%3600/60), true
	case 'Z':
		name, _ := t.Zone()
		return name, true
	case '%':
		return "%", true
	}
	return "", false
}

// flushLuaStdout flushes io.stdout's buffer (io.write output).
func flushLuaStdout(L *lua.LState) {
	iot, ok := L.GetGlobal("io").(*lua.LTable)
	if !ok {
		return
	}
	out := iot.RawGetString("stdout")
	if out == lua.LNil {
		return
	}
	if flush := L.GetField(out, "flush"); flush != lua.LNil {
		_ = L.CallByParam(lua.P{Fn: flush, NRet: 0, Protect: true}, out)
	}
}

// ---- string.format ----

func compatFormat(L *lua.LState) int {
	fs := L.CheckString(1)
	var b strings.Builder
	arg := 1
	for i := 0; i < len(fs); i++ {
		c := fs[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i < len(fs) && fs[i] == '%' {
			b.WriteByte('%')
			continue
		}
		start := i
		for i < len(fs) && strings.IndexByte("-+ #0", fs[i]) >= 0 {
			i++
		}
		for k := 0; k < 2 && i < len(fs) && isDigitByte(fs[i]); k++ {
			i++
		}
		if i < len(fs) && fs[i] == '.' {
			i++
			for k := 0; k < 2 && i < len(fs) && isDigitByte(fs[i]); k++ {
				i++
			}
		}
		if i >= len(fs) {
			L.RaiseError("invalid conversion '%%%s' to 'format'", fs[start:])
		}
		spec := fs[start:i]
		conv := fs[i]
		arg++
		if arg > L.GetTop() && conv != '%' {
			L.ArgError(arg, "no value")
		}
		switch conv {
		case 'c':
			b.WriteString(fmt.Sprintf("%"+spec+"c", rune(byte(checkInteger(L, arg)))))
		case 'd', 'i':
			b.WriteString(fmt.Sprintf("%"+spec+"d", formatInteger(L, arg)))
		case 'o', 'x', 'X':
			b.WriteString(fmt.Sprintf("%"+spec+string(conv), uint64(formatInteger(L, arg))))
		case 'a', 'A':
			v := checkNumber(L, arg)
			if s, ok := nonFinite(v, spec, conv == 'A'); ok {
				b.WriteString(s)
				break
			}
			verb := "x"
			if conv == 'A' {
				verb = "X"
			}
			b.WriteString(cHexExponent(fmt.Sprintf("%"+spec+verb, v)))
		case 'e', 'E', 'f', 'F', 'g', 'G':
			v := checkNumber(L, arg)
			if s, ok := nonFinite(v, spec, conv < 'a'); ok {
				b.WriteString(s)
				break
			}
			if !strings.Contains(spec, ".") {
				spec += ".6"
			}
			verb := string(conv)
			if conv == 'F' {
				verb = "f"
			}
			s := fmt.Sprintf("%"+spec+verb, v)
			if (conv == 'g' || conv == 'G') && strings.Contains(spec, "#") {
				// Go keeps trailing zeros with '#' like C; nothing to do.
			}
			b.WriteString(s)
		case 'q':
			if spec != "" {
				L.RaiseError("specifier '%%q' cannot have modifiers")
			}
			b.WriteString(quoteLiteral(L, arg))
		case 's':
			s := tostringValue(L, L.Get(arg))
			b.WriteString(fmt.Sprintf("%"+spec+"s", s))
		default:
			L.RaiseError("invalid conversion '%%%s' to 'format'", fs[start:i+1])
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// formatInteger reads argument n as an integer (numbers and numeric
// strings with an exact integer value).
func formatInteger(L *lua.LState, n int) int64 {
	return checkInteger(L, n)
}

// nonFinite formats inf and nan as C does ("inf", "-nan"), honouring width
// and the '-' flag.
func nonFinite(v float64, spec string, upper bool) (string, bool) {
	var s string
	switch {
	case math.IsInf(v, 1):
		s = "inf"
		if strings.Contains(spec, "+") {
			s = "+inf"
		}
	case math.IsInf(v, -1):
		s = "-inf"
	case math.IsNaN(v):
		s = "nan"
		if math.Signbit(v) {
			s = "-nan"
		}
	default:
		return "", false
	}
	if upper {
		s = strings.ToUpper(s)
	}
	width := 0
	w := strings.TrimLeft(spec, "-+ #0")
	w, _, _ = strings.Cut(w, ".")
	if w != "" {
		width, _ = strconv.Atoi(w)
	}
	for len(s) < width {
		if strings.HasPrefix(spec, "-") || strings.Contains(spec[:len(spec)-len(strings.TrimLeft(spec, "-+ #0"))], "-") {
			s += " "
		} else {
			s = " " + s
		}
	}
	return s, true
}

// cHexExponent turns Go's "p+01" exponent into C's "p+1".
func cHexExponent(s string) string {
	for _, p := range []string{"p", "P"} {
		if i := strings.LastIndex(s, p); i >= 0 && i+2 < len(s) {
			exp := strings.TrimLeft(s[i+2:], "0")
			end := len(exp)
			for end > 0 && exp[end-1] == ' ' {
				end--
			}
			if end == 0 {
				exp = "0" + exp
			}
			return s[:i+2] + exp
		}
	}
	return s
}

// quoteLiteral is %q: a Lua literal that reads back as the value.
func quoteLiteral(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return QuoteString(string(v))
	case lua.LNumber:
		f := float64(v)
		switch {
		case math.IsInf(f, 1):
			return "1e9999"
		case math.IsInf(f, -1):
			return "-1e9999"
		case math.IsNaN(f):
			return "(0/0)"
		}
		if i, ok := lua54.PlainInteger(f); ok {
			return strconv.FormatInt(i, 10)
		}
		return cHexExponent(strconv.FormatFloat(f, 'x', -1, 64))
	case *lua.LNilType, lua.LBool:
		return v.String()
	case *lua.LUserData:
		if i, ok := lua54.BigInteger(v); ok {
			if i == math.MinInt64 {
				return "0x8000000000000000"
			}
			return strconv.FormatInt(i, 10)
		}
	}
	L.ArgError(n, "value has no literal form")
	return ""
}

// QuoteString renders s as string.format("%q", s) does in Lua 5.4.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0 || c < 0x20 || c == 0x7f:
			if i+1 < len(s) && isDigitByte(s[i+1]) {
				fmt.Fprintf(&b, "\\%03d", c)
			} else {
				fmt.Fprintf(&b, "\\%d", c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ---- utf8 ----

const utf8MaxUnicode = 0x10FFFF

// utf8Encode is Lua's luaO_utf8esc (up to 6 bytes, 31 bits).
func utf8Encode(x uint32) string {
	if x < 0x80 {
		return string([]byte{byte(x)})
	}
	var buf [8]byte
	n := 0
	mfb := uint32(0x3f)
	for {
		buf[7-n] = byte(0x80 | (x & 0x3f))
		n++
		x >>= 6
		mfb >>= 1
		if x <= mfb {
			break
		}
	}
	buf[7-n] = byte((^mfb << 1) | x)
	n++
	return string(buf[8-n:])
}

// utf8Decode is Lua's utf8_decode: it returns the code point and its
// length, or ok=false for an invalid sequence.
func utf8Decode(s string, strict bool) (code uint32, size int, ok bool) {
	limits := [...]uint32{^uint32(0), 0x80, 0x800, 0x10000, 0x200000, 0x4000000}
	if len(s) == 0 {
		return 0, 0, false
	}
	c := uint32(s[0])
	if c < 0x80 {
		return c, 1, true
	}
	var res uint32
	count := 0
	for ; c&0x40 != 0; c <<= 1 {
		count++
		if count >= len(s) {
			return 0, 0, false
		}
		cc := uint32(s[count])
		if cc&0xC0 != 0x80 {
			return 0, 0, false
		}
		res = res<<6 | cc&0x3F
	}
	res |= (c & 0x7F) << (count * 5)
	if count > 5 || res > 0x7FFFFFFF || res < limits[count] {
		return 0, 0, false
	}
	if strict && (res > utf8MaxUnicode || (res >= 0xD800 && res <= 0xDFFF)) {
		return 0, 0, false
	}
	return res, count + 1, true
}

// posrelat converts a relative string position (negative = from the end).
func posrelat(pos int64, n int) int64 {
	if pos >= 0 {
		return pos
	} else if -pos > int64(n) {
		return 0
	}
	return int64(n) + pos + 1
}

func utf8Char(L *lua.LState) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		c := checkInteger(L, i)
		if uint64(c) > 0x7FFFFFFF {
			L.ArgError(i, "value out of range")
		}
		b.WriteString(utf8Encode(uint32(c)))
	}
	L.Push(lua.LString(b.String()))
	return 1
}

func utf8Codepoint(L *lua.LState) int {
	s := L.CheckString(1)
	i := posrelat(optInteger(L, 2, 1), len(s))
	j := posrelat(optInteger(L, 3, i), len(s))
	lax := lua.LVAsBool(L.Get(4))
	if i < 1 {
		L.ArgError(2, "out of bounds")
	}
	if j > int64(len(s)) {
		L.ArgError(3, "out of bounds")
	}
	n := 0
	for p := int(i - 1); p < int(j); {
		code, size, ok := utf8Decode(s[p:], !lax)
		if !ok {
			L.RaiseError("invalid UTF-8 code")
		}
		L.Push(lua.LNumber(code))
		n++
		p += size
	}
	return n
}

func optInteger(L *lua.LState, n int, def int64) int64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkInteger(L, n)
}

func utf8Len(L *lua.LState) int {
	s := L.CheckString(1)
	i := posrelat(optInteger(L, 2, 1), len(s))
	j := posrelat(optInteger(L, 3, -1), len(s))
	lax := lua.LVAsBool(L.Get(4))
	if i < 1 || i > int64(len(s))+1 {
		L.ArgError(2, "initial position out of bounds")
	}
	if j > int64(len(s)) {
		L.ArgError(3, "final position out of bounds")
	}
	n := 0
	for p := i - 1; p < j; {
		_, size, ok := utf8Decode(s[p:], !lax)
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LNumber(p + 1))
			return 2
		}
		p += int64(size)
		n++
	}
	L.Push(lua.LNumber(n))
	return 1
}

func isCont(s string, p int64) bool { return p >= 0 && p < int64(len(s)) && s[p]&0xC0 == 0x80 }

func utf8Offset(L *lua.LState) int {
	s := L.CheckString(1)
	n := checkInteger(L, 2)
	def := int64(1)
	if n < 0 {
		def = int64(len(s)) + 1
	}
	i := posrelat(optInteger(L, 3, def), len(s))
	if i < 1 || i > int64(len(s))+1 {
		L.ArgError(3, "position out of bounds")
	}
	posi := i - 1
	if n == 0 {
		for posi > 0 && isCont(s, posi) {
			posi--
		}
		L.Push(lua.LNumber(posi + 1))
		return 1
	}
	if isCont(s, posi) {
		L.RaiseError("initial position is a continuation byte")
	}
	if n < 0 {
		for n < 0 && posi > 0 {
			posi--
			for posi > 0 && isCont(s, posi) {
				posi--
			}
			n++
		}
	} else {
		n--
		for n > 0 && posi < int64(len(s)) {
			posi++
			for isCont(s, posi) {
				posi++
			}
			n--
		}
	}
	if n == 0 {
		L.Push(lua.LNumber(posi + 1))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

func utf8Codes(L *lua.LState) int {
	s := L.CheckString(1)
	lax := lua.LVAsBool(L.Get(2))
	if isCont(s, 0) {
		L.RaiseError("invalid UTF-8 code")
	}
	iter := L.NewFunction(func(L *lua.LState) int {
		str := L.CheckString(1)
		i := int64(L.CheckNumber(2))
		for isCont(str, i) {
			i++
		}
		if i >= int64(len(str)) {
			return 0
		}
		code, size, ok := utf8Decode(str[i:], !lax)
		if !ok || isCont(str, i+int64(size)) {
			L.RaiseError("invalid UTF-8 code")
		}
		L.Push(lua.LNumber(i + 1))
		L.Push(lua.LNumber(code))
		return 2
	})
	L.Push(iter)
	L.Push(lua.LString(s))
	L.Push(lua.LNumber(0))
	return 3
}

// ---- bit32 ----

func bitArg(L *lua.LState, n int) uint32 {
	v := float64(L.CheckNumber(n))
	if i, ok := isInteger(v); ok {
		return uint32(i)
	}
	return uint32(int64(math.Mod(math.Trunc(v), 4294967296)))
}

func bitShift(x uint32, disp int64) uint32 {
	switch {
	case disp <= -32 || disp >= 32:
		return 0
	case disp >= 0:
		return x << uint(disp)
	default:
		return x >> uint(-disp)
	}
}

func openBit32(L *lua.LState, t *lua.LTable) {
	fold := func(init uint32, op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			r := init
			for i := 1; i <= L.GetTop(); i++ {
				r = op(r, bitArg(L, i))
			}
			L.Push(lua.LNumber(r))
			return 1
		}
	}
	and := func(a, b uint32) uint32 { return a & b }
	reg := func(name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	reg("band", fold(^uint32(0), and))
	reg("bor", fold(0, func(a, b uint32) uint32 { return a | b }))
	reg("bxor", fold(0, func(a, b uint32) uint32 { return a ^ b }))
	btest := fold(^uint32(0), and)
	reg("btest", func(L *lua.LState) int {
		btest(L)
		r := L.Get(-1).(lua.LNumber)
		L.Pop(1)
		L.Push(lua.LBool(r != 0))
		return 1
	})
	reg("bnot", func(L *lua.LState) int { L.Push(lua.LNumber(^bitArg(L, 1))); return 1 })
	reg("lshift", func(L *lua.LState) int {
		L.Push(lua.LNumber(bitShift(bitArg(L, 1), checkInteger(L, 2))))
		return 1
	})
	reg("rshift", func(L *lua.LState) int {
		L.Push(lua.LNumber(bitShift(bitArg(L, 1), -checkInteger(L, 2))))
		return 1
	})
	reg("arshift", func(L *lua.LState) int {
		x := bitArg(L, 1)
		disp := checkInteger(L, 2)
		if disp < 0 || x&0x80000000 == 0 {
			L.Push(lua.LNumber(bitShift(x, -disp)))
			return 1
		}
		if disp >= 32 {
			L.Push(lua.LNumber(^uint32(0)))
			return 1
		}
		L.Push(lua.LNumber(uint32(int32(x) >> uint(disp))))
		return 1
	})
	rot := func(sign int64) lua.LGFunction {
		return func(L *lua.LState) int {
			x := bitArg(L, 1)
			d := uint(((checkInteger(L, 2)*sign)%32 + 32) % 32)
			L.Push(lua.LNumber(x<<d | x>>(32-d)))
			return 1
		}
	}
	reg("lrotate", rot(1))
	reg("rrotate", rot(-1))
	fieldArgs := func(L *lua.LState, fi, wi int) (uint, uint) {
		f := checkInteger(L, fi)
		w := optInteger(L, wi, 1)
		if f < 0 {
			L.ArgError(fi, "field cannot be negative")
		}
		if w <= 0 {
			L.ArgError(wi, "width must be positive")
		}
		if f+w > 32 {
			L.RaiseError("trying to access non-existent bits")
		}
		return uint(f), uint(w)
	}
	mask := func(w uint) uint32 { return uint32((uint64(1) << w) - 1) }
	reg("extract", func(L *lua.LState) int {
		x := bitArg(L, 1)
		f, w := fieldArgs(L, 2, 3)
		L.Push(lua.LNumber((x >> f) & mask(w)))
		return 1
	})
	reg("replace", func(L *lua.LState) int {
		x := bitArg(L, 1)
		v := bitArg(L, 2)
		f, w := fieldArgs(L, 3, 4)
		m := mask(w)
		L.Push(lua.LNumber(x&^(m<<f) | (v&m)<<f))
		return 1
	})
}
