package stdlib

import lua "github.com/yuin/gopher-lua"

// openExtras opens the libraries of this package that live in their own
// files: the Lua 5.4 shims (load, require, string.format, ... through the
// lua54 front end) and the regex library.
func openExtras(L *lua.LState) {
	openSort(L) // before openCompat, which wraps table.sort for boxed integers
	openCompat(L)
	openPattern(L)
	register(L, "regex", OpenRegex(L))
}
