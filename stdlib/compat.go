package stdlib

// Lua 5.4 library shims for gopher-lua (a Lua 5.1 VM).
//
// OpenCompat makes the globals neosocksd scripts use behave like Lua 5.4 and
// routes every way source enters the VM through the Lua 5.4 front end in
// package lua54. Operators (& | ~ << >> //, unary ~), goto, <const>, string
// escapes and numeric literals are a parser matter handled by lua54; see
// its package documentation for the language table.
//
// Library compatibility (the VM carries every number as a float64):
//
//	| Function                               | Status                                                         |
//	|----------------------------------------|----------------------------------------------------------------|
//	| load (string or reader function)       | yes: chunkname, mode "t"/"b"/"bt", env; binary chunks rejected |
//	| loadstring, dofile, loadfile           | yes, through lua54 (loadfile: mode and env too)                |
//	| require (Lua files)                    | yes: package.path with "?", dots → "/", chunk "@file", (name, path) passed |
//	| package.searchers, package.searchpath  | yes (searchers is the same table as package.loaders)           |
//	| table.unpack, table.pack, table.move   | yes                                                            |
//	| math.type                              | integral values within int64 range report "integer"            |
//	| math.tointeger, math.ult               | yes                                                            |
//	| math.maxinteger, math.mininteger       | as floats (2^63-1 rounds to 2^63)                              |
//	| math.huge                              | +inf (gopher-lua's is the largest finite float)                |
//	| utf8.*                                 | char, charpattern, codepoint, len, offset, codes (incl. lax)   |
//	| string.format                          | 5.4 conversions incl. %q (5.4 escaping), %i, %a               |
//	| string.lower, string.upper             | ASCII only, as C Lua in the "C" locale                         |
//	| os.date                                | C99 strftime codes incl. %F %T %z %V %G, "*t" and "!*t"       |
//	| os.exit(code)                          | flushes stdout, exits with code (true → 0, false → 1)          |
//	| bit32.*                                | yes (5.2 library, 32-bit)                                      |
//	| coroutine.isyieldable, coroutine.running | yes; running returns (co, ismain)                            |
//	| select('#'), rawequal, rawlen          | yes                                                            |
//	| print, tostring                        | numbers formatted as Lua's "%.14g"; integral floats print as integers |
//	| string.pack, string.unpack, string.packsize | not provided                                              |
//	| warn, collectgarbage("generational")   | not provided by this file                                      |
//
// It must not open files other than those a script asks to load, and it
// must not run Lua code of its own.

import (
	"bytes"
	"compress/gzip"
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

// compatStdout is where print writes (unbuffered).
var compatStdout io.Writer = os.Stdout

// OpenCompat installs the Lua 5.4 shims into L. The base, table, string,
// math, os, coroutine and package libraries must already be open.
func OpenCompat(L *lua.LState) {
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
	set(g, "print", compatPrint)
	set(g, "select", compatSelect)

	if t, ok := g.RawGetString("table").(*lua.LTable); ok {
		set(t, "unpack", compatUnpack)
		set(t, "pack", compatPack)
		set(t, "move", compatMove)
	}
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		set(m, "type", compatMathType)
		set(m, "tointeger", compatToInteger)
		set(m, "ult", compatUlt)
		m.RawSetString("maxinteger", lua.LNumber(math.MaxInt64))
		m.RawSetString("mininteger", lua.LNumber(math.MinInt64))
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
	if c, ok := g.RawGetString("coroutine").(*lua.LTable); ok {
		set(c, "isyieldable", func(L *lua.LState) int { L.Push(lua.LBool(L.Parent != nil)); return 1 })
		set(c, "running", func(L *lua.LState) int {
			L.Push(L)
			L.Push(lua.LBool(L.Parent == nil))
			return 2
		})
	}
	if p, ok := g.RawGetString("package").(*lua.LTable); ok {
		set(p, "searchpath", compatSearchpath)
		if loaders, ok := p.RawGetString("loaders").(*lua.LTable); ok {
			loaders.RawSetInt(2, L.NewFunction(compatLuaSearcher))
			p.RawSetString("searchers", loaders)
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

func readSource(path string) ([]byte, string, error) {
	var (
		data      []byte
		err       error
		chunkname = "@" + path
		shown     = path
	)
	if path == "-" {
		chunkname, shown = "=stdin", "stdin"
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %s", shown, errText(err))
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, "", fmt.Errorf("cannot read %s: %s", shown, errText(err))
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read %s: %s", shown, errText(err))
		}
	}
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}):
		return nil, "", fmt.Errorf("cannot read %s: UTF-32 text is not supported", shown)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return nil, "", fmt.Errorf("cannot read %s: UTF-16 text is not supported", shown)
	}
	if len(data) > 0 && data[0] == '#' {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i:]
		} else {
			data = nil
		}
	}
	return data, chunkname, nil
}

// errText renders an I/O error like C's strerror ("No such file or
// directory").
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated gzip data"
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
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
	if fn == nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	L.Push(fn)
	return 1
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
	if fn == nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	L.Push(fn)
	return 1
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
	if n, ok := v.(lua.LNumber); ok {
		return lua54.FormatNumber(float64(n))
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

func compatPrint(L *lua.LState) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(tostringValue(L, L.Get(i)))
	}
	b.WriteByte('\n')
	io.WriteString(compatStdout, b.String())
	return 0
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
	v := L.CheckAny(1)
	n, ok := v.(lua.LNumber)
	switch {
	case !ok:
		L.Push(lua.LNil)
	case func() bool { _, i := isInteger(float64(n)); return i }():
		L.Push(lua.LString("integer"))
	default:
		L.Push(lua.LString("float"))
	}
	return 1
}

func compatToInteger(L *lua.LState) int {
	var f float64
	switch v := L.Get(1).(type) {
	case lua.LNumber:
		f = float64(v)
	case lua.LString:
		x, ok := lua54.StringToNumber(string(v))
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		f = x
	default:
		L.Push(lua.LNil)
		return 1
	}
	if _, ok := isInteger(f); ok {
		L.Push(lua.LNumber(f))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

func checkInteger(L *lua.LState, n int) int64 {
	v := L.CheckNumber(n)
	i, ok := isInteger(float64(v))
	if !ok {
		L.ArgError(n, "number has no integer representation")
	}
	return i
}

func compatUlt(L *lua.LState) int {
	a := checkInteger(L, 1)
	b := checkInteger(L, 2)
	L.Push(lua.LBool(uint64(a) < uint64(b)))
	return 1
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
