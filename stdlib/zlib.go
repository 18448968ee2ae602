package stdlib

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"

	lua "github.com/yuin/gopher-lua"
)

// OpenZlib returns a new zlib library table: compress/uncompress (RFC 1950)
// and gzip/gunzip (RFC 1952, concatenated members accepted). Corrupt input
// raises a string error.
func OpenZlib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"compress":   zlibCompress,
		"uncompress": zlibUncompress,
		"gzip":       zlibGzip,
		"gunzip":     zlibGunzip,
	})
	return t
}

// Compress returns s in zlib format.
func Compress(s []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(s) // writes to a bytes.Buffer cannot fail
	w.Close()
	return b.Bytes()
}

// Uncompress inverts Compress.
func Uncompress(z []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return out, r.Close()
}

func zlibCompress(L *lua.LState) int {
	L.Push(lua.LString(Compress([]byte(L.CheckString(1)))))
	return 1
}

func zlibUncompress(L *lua.LState) int {
	out, err := Uncompress([]byte(L.CheckString(1)))
	if err != nil {
		L.RaiseError("uncompress error: %v", err)
	}
	L.Push(lua.LString(out))
	return 1
}

func zlibGzip(L *lua.LState) int {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(L.CheckString(1)))
	w.Close()
	L.Push(lua.LString(b.String()))
	return 1
}

func zlibGunzip(L *lua.LState) int {
	s := L.CheckString(1)
	r, err := gzip.NewReader(bytes.NewReader([]byte(s)))
	if err != nil {
		L.RaiseError("gunzip error: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		L.RaiseError("gunzip error: %v", err)
	}
	L.Push(lua.LString(out))
	return 1
}
