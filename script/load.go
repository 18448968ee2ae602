package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// loadKind says what a load record replays.
type loadKind uint8

const (
	loadNone loadKind = iota
	loadRuleset
	loadConfig
	loadUpdate
)

// loadRecord is one successful load, replayed when the VM is rebuilt.
type loadRecord struct {
	kind      loadKind
	path      string // loadRuleset, loadConfig
	module    string // loadUpdate: "" for the ruleset
	chunkname string
	code      []byte
}

// readScript reads a script file through stdlib.ReadScript (gzip, BOM
// and "#!" handling), wording its failures as the engine always has:
// "cannot open PATH: no such file or directory" for a file that cannot be
// read, "cannot read PATH: ..." for bad gzip data or a refused encoding.
func readScript(path string) ([]byte, error) {
	data, err := stdlib.ReadScript(path)
	var se *stdlib.ScriptError
	if !errors.As(err, &se) {
		return data, err
	}
	switch se.Stage {
	case stdlib.StageOpen:
		var pe *os.PathError
		if errors.As(se.Err, &pe) {
			return nil, fmt.Errorf("cannot open %s: %s", path, pe.Err.Error())
		}
		return nil, se.Err
	case stdlib.StageGunzip:
		return nil, fmt.Errorf("cannot read %s: %v", path, se.Err)
	default:
		return nil, fmt.Errorf("cannot read %s: unsupported text encoding", path)
	}
}

// LoadRuleset runs a ruleset file (-r; "-" is stdin) with chunk name
// "=ruleset" and argument "ruleset"; it must return a table, which becomes
// _G.ruleset. On error the old ruleset stays.
func (e *Engine) LoadRuleset(path string) error {
	return e.loadBoot(path, loadRuleset, "=ruleset", (*vm).apply)
}

// LoadConfig runs a boot config file (-c) with chunk name "=config" and
// argument "config". The returned table's fields are applied to cfg (all
// or nothing, strict types, cli.md §8.2 messages); a table in its ruleset
// field becomes _G.ruleset. During the run neosocksd.config() reflects cfg.
func (e *Engine) LoadConfig(path string, cfg *config.Config) error {
	return e.loadBoot(path, loadConfig, "=config", func(v *vm, rec loadRecord) error {
		v.searchBeside(path)
		return v.runConfig(rec, cfg, func(w string) { v.e.log.Warn(path + ": " + w) })
	})
}

// loadBoot reads the script at path and runs it on the owner with run; if
// that succeeds, the script becomes the boot script, the only one replayed.
func (e *Engine) loadBoot(path string, kind loadKind, chunkname string, run func(v *vm, rec loadRecord) error) error {
	src, err := readScript(path)
	if err != nil {
		return err
	}
	var lerr error
	if err := e.doLoad(context.Background(), func(v *vm) {
		rec := loadRecord{kind: kind, path: path, chunkname: chunkname, code: src}
		lerr = run(v, rec)
		if lerr == nil {
			v.boot = rec
			v.replay = []loadRecord{rec}
		}
	}); err != nil {
		return err
	}
	return lerr
}

// Reload re-runs the -c or -r script in the same VM (SIGHUP). A -c
// script's fields go to cfg. On error the old ruleset stays.
func (e *Engine) Reload(cfg *config.Config) error {
	var boot loadRecord
	if err := e.do(context.Background(), func(v *vm) { boot = v.boot }); err != nil {
		return err
	}
	switch boot.kind {
	case loadConfig:
		return e.LoadConfig(boot.path, cfg)
	case loadRuleset:
		return e.LoadRuleset(boot.path)
	}
	return errors.New("reload: no script was loaded")
}

// apply runs one load record on the owner.
func (v *vm) apply(rec loadRecord) error {
	if rec.kind == loadRuleset || rec.kind == loadConfig {
		v.searchBeside(rec.path)
	}
	switch rec.kind {
	case loadRuleset:
		return v.runRuleset(rec.code, rec.chunkname)
	case loadConfig:
		c := *v.e.o.Config
		return v.runConfig(rec, &c, nil)
	case loadUpdate:
		if rec.module == "" || rec.module == "ruleset" {
			return v.runRuleset(rec.code, rec.chunkname)
		}
		return v.runModule(rec.module, rec.code, rec.chunkname)
	}
	return nil
}

// searchBeside lets require find modules in the directory of the script
// at path, after the current directory (package.path "?.lua").
func (v *vm) searchBeside(path string) {
	pkg, ok := v.L.G.Global.RawGetString("package").(*lua.LTable)
	if !ok || path == "-" {
		return
	}
	p := "?.lua"
	if dir := filepath.Dir(path); dir != "." {
		p += ";" + filepath.Join(dir, "?.lua")
	}
	pkg.RawSetString("path", lua.LString(p))
}

// runRuleset compiles and runs a ruleset chunk, installing its table.
func (v *vm) runRuleset(src []byte, chunkname string) error {
	fn, err := compile(v.L, src, chunkname)
	if err != nil {
		return err
	}
	rets, lerr := v.callMain(fn, 1, lua.LString("ruleset"))
	if lerr != nil {
		return errors.New(errorText(lerr))
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return fmt.Errorf("ruleset: expected table, got %s", typeName(rets[0]))
	}
	v.L.G.Global.RawSetString("ruleset", t)
	v.e.hasRuleset.Store(true)
	return nil
}

// runModule replaces package.loaded[name] (api.md §7).
func (v *vm) runModule(name string, src []byte, chunkname string) error {
	fn, err := compile(v.L, src, chunkname)
	if err != nil {
		return err
	}
	L := v.L
	loaded, _ := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable)
	if loaded == nil {
		return errors.New("package.loaded is missing")
	}
	old := loaded.RawGetString(name)
	aliased := old != lua.LNil && L.G.Global.RawGetString(name) == old
	rets, lerr := v.callMain(fn, 1, lua.LString(name))
	if lerr != nil {
		return errors.New(errorText(lerr))
	}
	m := rets[0]
	if m == lua.LNil {
		loaded.RawSetString(name, lua.LTrue)
	} else {
		loaded.RawSetString(name, m)
	}
	if aliased {
		L.G.Global.RawSetString(name, m)
	}
	return nil
}

// runConfig runs a boot config and applies its fields to cfg. warn, when
// not nil, receives a warning per key of the table that is no field (a
// replay after a VM rebuild passes nil: the keys were reported already).
func (v *vm) runConfig(rec loadRecord, cfg *config.Config, warn func(string)) error {
	fn, err := compile(v.L, rec.code, rec.chunkname)
	if err != nil {
		return err
	}
	v.cfg = cfg
	rets, lerr := v.callMain(fn, 1, lua.LString("config"))
	v.cfg = nil
	if lerr != nil {
		return errors.New(errorText(lerr))
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return fmt.Errorf("config: expected table, got %s", typeName(rets[0]))
	}
	var rs *lua.LTable
	switch r := t.RawGetString("ruleset").(type) {
	case *lua.LNilType:
	case *lua.LTable:
		rs = r
	default:
		return errors.New("config: `ruleset' must be a table; use `-r' for a standalone ruleset file")
	}
	if warn != nil {
		for _, w := range unknownFields(t) {
			warn(w)
		}
	}
	next := *cfg
	if err := applyFields(t, &next); err != nil {
		return err
	}
	if next.MemLimit > 2097151 {
		return errors.New("config: memlimit too large")
	}
	*cfg = next
	if rs != nil {
		v.L.G.Global.RawSetString("ruleset", rs)
	}
	// the table reconfigures the running engine
	v.e.o.Config = cfg
	if cfg.Traceback != v.traceback {
		v.setTraceback(cfg.Traceback)
	}
	_, isTable := v.L.G.Global.RawGetString("ruleset").(*lua.LTable)
	v.e.hasRuleset.Store(isTable)
	if cfg.MemLimit > 0 {
		v.e.memLimit.Store(uint64(cfg.MemLimit) << 20)
	} else {
		v.e.memLimit.Store(0)
	}
	return nil
}

// applyFields copies the recognised fields of t into c, strictly typed.
func applyFields(t *lua.LTable, c *config.Config) error {
	fail := func(msg string) error {
		return errors.New(msg + "\nconfig: failed to load fields")
	}
	for _, f := range config.Fields {
		val := t.RawGetString(f.Name)
		if val == lua.LNil {
			continue
		}
		bad := fmt.Sprintf("boot: field `%s' must be %s", f.Name, f.Kind)
		switch f.Kind {
		case config.String:
			s, ok := val.(lua.LString)
			if !ok {
				return fail(bad)
			}
			*f.Str(c) = string(s)
		case config.Integer:
			n, ok := val.(lua.LNumber)
			if !ok || float64(n) != float64(int64(n)) {
				return fail(bad)
			}
			if n < -config.MaxInt-1 || n > config.MaxInt {
				return fail(fmt.Sprintf("boot: field `%s' is out of range", f.Name))
			}
			*f.Int(c) = int(n)
		case config.Number:
			n, ok := val.(lua.LNumber)
			if !ok {
				return fail(bad)
			}
			*f.Num(c) = float64(n)
		case config.Boolean:
			b, ok := val.(lua.LBool)
			if !ok {
				return fail(bad)
			}
			*f.Bool(c) = bool(b)
		}
	}
	return nil
}

// unknownFields describes the keys of a -c table that are no configuration
// field, sorted, each with the closest field name when one is near. The
// original ignores such keys silently; they are still ignored, but a
// misspelt key is almost always a mistake worth a warning.
func unknownFields(t *lua.LTable) []string {
	var out []string
	t.ForEach(func(k, _ lua.LValue) {
		s, ok := k.(lua.LString)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("key %s is no field name and is ignored", lua.LVAsString(k)))
		case s == "ruleset" || config.IsField(string(s)):
		default:
			w := fmt.Sprintf("unknown field `%s' is ignored", s)
			if near := config.Suggest(string(s)); near != "" {
				w += fmt.Sprintf("; did you mean `%s'?", near)
			}
			out = append(out, w)
		}
	})
	sort.Strings(out)
	return out
}

// typeName is Lua's type() of v.
func typeName(v lua.LValue) string {
	if v == nil {
		return "nil"
	}
	return v.Type().String()
}

// callMain calls fn on the main thread, protected, and returns nret
// results or the error value (a traceback with --traceback).
func (v *vm) callMain(fn lua.LValue, nret int, args ...lua.LValue) ([]lua.LValue, lua.LValue) {
	L := v.L
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	var h *lua.LFunction
	if v.traceback {
		h = L.NewFunction(func(L *lua.LState) int {
			L.Push(tracebackOf(L, L.Get(1), 2))
			return 1
		})
	}
	if err := L.PCall(len(args), nret, h); err != nil {
		L.SetTop(top)
		val := stdlib.ErrorValue(err)
		if v.budgetBlown() {
			v.e.runaways.Add(1)
			v.e.log.Error("ruleset: "+ErrBudget.Error(), "budget", time.Duration(v.e.entryLimit.Load()))
			val = lua.LString(ErrBudget.Error())
		}
		v.setLastError(val)
		return nil, val
	}
	n := L.GetTop() - top
	rets := make([]lua.LValue, n)
	for i := range rets {
		rets[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return rets, nil
}

// sandbox returns a fresh environment whose reads fall through to _G.
func (v *vm) sandbox() *lua.LTable {
	L := v.L
	env := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", L.G.Global)
	L.SetMetatable(env, mt)
	return env
}

// hook returns _G.ruleset[name] (through metatables), or the error value
// raised while looking it up.
func (v *vm) hook(name string) (lua.LValue, lua.LValue) {
	rs := v.L.G.Global.RawGetString("ruleset")
	if rs.Type() != lua.LTTable {
		return nil, lua.LString(fmt.Sprintf("attempt to index a %s value (global 'ruleset')", rs.Type()))
	}
	if v.getHook == nil {
		v.getHook = compileHelper(v.L, `return ruleset[...]`, "(hook)")
	}
	rets, err := v.callMain(v.getHook, 1, lua.LString(name))
	if err != nil {
		return nil, err
	}
	return rets[0], nil
}

// Invoke runs code in a sandbox on the main thread (POST /ruleset/invoke).
func (e *Engine) Invoke(ctx context.Context, code []byte) error {
	var lerr error
	if err := e.do(ctx, func(v *vm) {
		fn, err := compile(v.L, code, "=(invoke)")
		if err != nil {
			v.setLastError(lua.LString(err.Error()))
			lerr = err
			return
		}
		fn.Env = v.sandbox()
		if _, err := v.callMain(fn, 0); err != nil {
			lerr = errors.New(errorText(err))
		}
	}); err != nil {
		return err
	}
	return lerr
}

// Update replaces the ruleset (module "" or "ruleset") or a module (POST
// /ruleset/update). chunkname "" means "=<module>".
func (e *Engine) Update(ctx context.Context, module, chunkname string, code []byte) error {
	if chunkname == "" {
		if module == "" {
			chunkname = "=ruleset"
		} else {
			chunkname = "=" + module
		}
	}
	var lerr error
	if err := e.doLoad(ctx, func(v *vm) {
		rec := loadRecord{kind: loadUpdate, module: module, chunkname: chunkname, code: bytes.Clone(code)}
		lerr = v.apply(rec)
		if lerr == nil {
			// replay keeps the boot load and the latest update of each
			// module (and of the ruleset), in order
			norm := func(m string) string {
				if m == "" {
					return "ruleset"
				}
				return m
			}
			kept := v.replay[:0:0]
			for _, old := range v.replay {
				if old.kind != loadUpdate || norm(old.module) != norm(module) {
					kept = append(kept, old)
				}
			}
			v.replay = append(kept, rec)
		}
	}); err != nil {
		return err
	}
	return lerr
}
