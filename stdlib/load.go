package stdlib

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
)

// librulesetChunk is the chunk name of the embedded framework; log lines
// and error messages show it as the file name "libruleset.lua".
const librulesetChunk = "@libruleset.lua"

// loadLibruleset returns the embedded framework as a function of L,
// compiled by the Lua 5.4 front end like every other chunk (it sidesteps
// gopher-lua parser bugs such as miscompiled multiple assignment).
func loadLibruleset(L *lua.LState) (*lua.LFunction, error) {
	return lua54.Load(L, librulesetSource, librulesetChunk)
}
