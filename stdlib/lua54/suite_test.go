package lua54

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// TestGopherLuaSuite runs gopher-lua's own Lua test scripts (from the
// module cache) through this front end instead of gopher-lua's parser.
// vararg.lua is left out (it relies on Lua 5.1's implicit "arg" table),
// and so is attrib.lua (it writes files next to the scripts).
func TestGopherLuaSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/yuin/gopher-lua").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skip("gopher-lua module directory not available")
	}
	scripts := []string{
		"_glua-tests/base.lua", "_glua-tests/coroutine.lua", "_glua-tests/issues.lua",
		"_glua-tests/table.lua", "_glua-tests/vm.lua", "_glua-tests/goto.lua",
		"_glua-tests/strings.lua", "_glua-tests/math.lua",
		"_lua5.1-tests/calls.lua", "_lua5.1-tests/closure.lua",
		"_lua5.1-tests/constructs.lua", "_lua5.1-tests/events.lua", "_lua5.1-tests/locals.lua",
		"_lua5.1-tests/literals.lua", "_lua5.1-tests/pm.lua",
	}
	for _, s := range scripts {
		t.Run(s, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, s))
			if err != nil {
				t.Skip(err)
			}
			L := lua.NewState(lua.Options{RegistrySize: 1024 * 20, CallStackSize: 1024})
			defer L.Close()
			// Scripts call loadstring; route it through this front end.
			L.SetGlobal("loadstring", L.NewFunction(func(L *lua.LState) int {
				code := L.CheckString(1)
				fn, err := Load(L, []byte(code), L.OptString(2, code))
				if err != nil {
					L.Push(lua.LNil)
					L.Push(lua.LString(err.Error()))
					return 2
				}
				L.Push(fn)
				return 1
			}))
			fn, err := Load(L, src, "@"+filepath.Base(s))
			if err != nil {
				t.Fatal(err)
			}
			L.Push(fn)
			if err := L.PCall(0, 0, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
