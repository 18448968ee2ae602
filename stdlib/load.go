package stdlib

import (
	"bytes"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// librulesetChunk is the chunk name of the embedded framework; log lines
// and error messages show it as the file name.
const librulesetChunk = "libruleset.lua"

var (
	librulesetOnce  sync.Once
	librulesetProto *lua.FunctionProto
	librulesetErr   error
)

// compileLua parses and compiles src with gopher-lua's Lua 5.1 parser.
func compileLua(src []byte, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	return lua.Compile(chunk, name)
}

// loadLibruleset returns the embedded framework as a function of L; the
// source is compiled once per process.
func loadLibruleset(L *lua.LState) (*lua.LFunction, error) {
	librulesetOnce.Do(func() {
		librulesetProto, librulesetErr = compileLua(librulesetSource, librulesetChunk)
	})
	if librulesetErr != nil {
		return nil, librulesetErr
	}
	return L.NewFunctionFromProto(librulesetProto), nil
}
