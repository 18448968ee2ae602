package stdlib

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

// ReadScript reads a Lua script file the way neosocksd reads -r and -c
// scripts, dofile and require: "-" is standard input; gzip data (magic
// 1F 8B) is decompressed, a truncated stream being an error; a UTF-8 BOM
// is skipped and UTF-16/UTF-32 BOMs are refused; a first line starting
// with '#' (a "#!" line) is blanked, its newline kept so line numbers stay
// right. Every reader of a script file goes through here. A failure is a
// *ScriptError, which callers render in their own words.
func ReadScript(path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &ScriptError{Path: path, Stage: StageOpen, Err: err}
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, &ScriptError{Path: path, Stage: StageGunzip, Err: err}
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return nil, &ScriptError{Path: path, Stage: StageGunzip, Err: err}
		}
	}
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}):
		return nil, &ScriptError{Path: path, Stage: StageDecode, Err: errUTF32}
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return nil, &ScriptError{Path: path, Stage: StageDecode, Err: errUTF16}
	}
	if len(data) > 0 && data[0] == '#' {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i:]
		} else {
			data = nil
		}
	}
	return data, nil
}

// ReadStage says which step of ReadScript failed.
type ReadStage uint8

const (
	StageOpen   ReadStage = iota // reading the file or standard input
	StageGunzip                  // decompressing gzip data
	StageDecode                  // a refused text encoding (UTF-16/32)
)

var (
	errUTF16 = errors.New("UTF-16 text is not supported")
	errUTF32 = errors.New("UTF-32 text is not supported")
)

// ScriptError is why ReadScript failed. Its Error is the text Lua's
// dofile, loadfile and require show ("cannot read stdin: ..."); the
// engine's -r/-c loader words open failures its own way (see script).
type ScriptError struct {
	Path  string // as given: "-" is standard input
	Stage ReadStage
	Err   error // the I/O or gzip error, or the refused encoding
}

func (e *ScriptError) Error() string {
	shown := e.Path
	if shown == "-" {
		shown = "stdin"
	}
	return fmt.Sprintf("cannot read %s: %s", shown, errText(e.Err))
}

func (e *ScriptError) Unwrap() error { return e.Err }

// readSource reads path for dofile, loadfile and require, and names its
// chunk "@path" ("=stdin" for "-").
func readSource(path string) ([]byte, string, error) {
	data, err := ReadScript(path)
	if err != nil {
		return nil, "", err
	}
	if path == "-" {
		return data, "=stdin", nil
	}
	return data, "@" + path, nil
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
