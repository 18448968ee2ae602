package script

import (
	"fmt"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/stdlib"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// Limits of every Lua state.
const (
	callStackSize = 256     // nested Lua calls (gopher-lua's default)
	registrySize  = 1024    // initial value-stack slots of the main state
	registryMax   = 1 << 20 // value-stack slots per thread
	registryGrow  = 64 << 10
	// threadRegistrySize and threadRegistryGrow size the value stack of
	// each coroutine (request routines, pcall threads): they are set on
	// the main state's Options after NewState, because NewThread copies
	// them without NewState's floor of 128 slots. 64 slots (1 KiB) hold
	// the routing callbacks seen so far, so that a request parked in an
	// await costs a few KiB instead of 16 KiB. gopher-lua grows a
	// registry by a fixed step, and copies it each time: 4096 slots
	// (64 KiB) keep deep vararg recursion to a few milliseconds (1024
	// took tens, near a tight budget under load) while a thread that
	// outgrows its first size does not jump by the main state's 1 MiB.
	// A routine that pushes hundreds of thousands of values (unpack of a
	// huge table) is still slower than on the main state.
	threadRegistrySize = 64
	threadRegistryGrow = 4096
	maxPooled          = 1024     // idle threads kept for reuse
	maxStringResult    = 64 << 20 // string.rep result cap
)

// vm is the owner-side state. Only the owner goroutine touches it.
type vm struct {
	e     *Engine
	L     *lua.LState
	epoch *epochCtx

	pool     []*lua.LState
	routines map[*lua.LState]*routine
	pending  map[*lua.LState]*op
	pc       *stdlib.ProtectedCalls // pcall, xpcall and the thread each body works for
	opSeq    uint64

	lastError lua.LValue
	ticker    *time.Ticker
	idleTick  bool

	reqTramp *lua.LFunction
	runTramp *lua.LFunction
	getHook  *lua.LFunction

	traceback bool // error values carry a traceback

	origCreate lua.LGFunction
	origResume lua.LGFunction

	cfg      *config.Config // the configuration a running -c script sees
	now      time.Time      // start of the current loop iteration
	lastGC   time.Time      // last collection forced by --memlimit
	idle     []task         // owner-posted work for the next idle moment
	boot     loadRecord     // the -r or -c load, for Reload
	replay   []loadRecord
	children map[int]func() // running await.execute children by pid
}

// newVM builds a fresh Lua state with every library the engine offers.
func newVM(e *Engine) (*vm, error) {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       callStackSize,
		RegistrySize:        registrySize,
		RegistryMaxSize:     registryMax,
		RegistryGrowStep:    registryGrow,
		MinimizeStackMemory: true,
	})
	L.Options.RegistrySize = threadRegistrySize
	L.Options.RegistryGrowStep = threadRegistryGrow
	v := &vm{
		e:        e,
		L:        L,
		routines: make(map[*lua.LState]*routine),
		pending:  make(map[*lua.LState]*op),
		children: make(map[int]func()),
	}
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.IoLibName, lua.OpenIo},
		{lua.OsLibName, lua.OpenOs},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.DebugLibName, lua.OpenDebug},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("path", lua.LString("?.lua"))
		pkg.RawSetString("cpath", lua.LString("?.so"))
	}
	v.pc = stdlib.OpenHost(L, v.host())
	if err := v.install(); err != nil {
		L.Close()
		return nil, err
	}
	if e.budget > 0 || e.loadBudget > 0 {
		v.newEpoch()
	}
	return v, nil
}

// compile turns source into a function of L. Every chunk the engine loads
// goes through here.
func compile(L *lua.LState, src []byte, chunkname string) (*lua.LFunction, error) {
	if len(src) > 0 && src[0] == 0x1b {
		return nil, fmt.Errorf("%s: attempt to load a binary chunk (mode is 't')", lua54.ChunkID(chunkname))
	}
	return lua54.Load(L, src, chunkname)
}

// compileHelper compiles engine-internal Lua, through the same front end
// as every other chunk. The sources are constants, so a failure is a bug
// in this package (tests build a VM), not a run-time condition.
func compileHelper(L *lua.LState, src, name string) *lua.LFunction {
	fn, err := lua54.Load(L, []byte(src), "="+name)
	if err != nil {
		panic("script: internal helper " + name + ": " + err.Error())
	}
	return fn
}

// install registers neosocksd, await, the coroutine overrides and the
// capped builtins (stdlib.OpenHost has installed the host's functions).
func (v *vm) install() error {
	L := v.L
	g := L.G.Global
	set := func(t *lua.LTable, name string, fn lua.LGFunction) {
		t.RawSetString(name, L.NewFunction(fn))
	}

	v.setTraceback(v.e.o.Config.Traceback)

	co := g.RawGetString("coroutine").(*lua.LTable)
	getG := func(t *lua.LTable, name string) lua.LGFunction {
		if fn, ok := t.RawGetString(name).(*lua.LFunction); ok && fn.IsG {
			return fn.GFunction
		}
		return nil
	}
	v.origCreate = getG(co, "create")
	v.origResume = getG(co, "resume")

	set(co, "create", v.luaCoCreate)
	set(co, "resume", v.luaCoResume)
	set(co, "wrap", stdlib.Wrap(v.luaCoCreate, v.luaCoResume))

	if s, ok := g.RawGetString("string").(*lua.LTable); ok {
		set(s, "rep", luaStringRep)
	}

	v.openNeosocksd()
	v.openAwait()
	return nil
}

// register sets _G[name] and package.loaded[name].
func (v *vm) register(name string, val lua.LValue) {
	L := v.L
	L.G.Global.RawSetString(name, val)
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString(name, val)
	}
}

// crashed handles a Go panic that escaped the VM: the state may be
// inconsistent, so it is replaced by a new one built from the last good
// ruleset.
func (v *vm) crashed(r any) {
	e := v.e
	e.rebuilds.Add(1)
	e.log.Error(fmt.Sprintf("ruleset: VM panic, rebuilding: %v", r))
	for th, rt := range v.routines {
		if !rt.delivered {
			rt.delivered = true
			switch rt.kind {
			case kRequest:
				if !rt.committed {
					rt.call.answer(errDecision("ruleset engine restarted"))
				}
			case kRPC:
				rt.rpcDone(nil, fmt.Errorf("ruleset engine restarted"))
			}
		}
		delete(v.routines, th)
		e.routineEnded()
	}
	for _, op := range v.pending {
		op.cancel()
	}
	nv, err := newVM(e)
	if err != nil {
		e.log.Error("ruleset: rebuild failed: " + err.Error())
		return
	}
	nv.children = v.children
	if v.ticker != nil {
		v.ticker.Stop()
	}
	e.v = nv
	for _, rec := range v.replay {
		if err := nv.apply(rec); err != nil {
			e.log.Warn("ruleset: replay: " + err.Error())
		}
	}
	nv.replay = v.replay
	func() {
		defer func() { _ = recover() }()
		v.L.Close()
	}()
}

// shutdown stops timers and children when the engine closes.
func (v *vm) shutdown() {
	if v.ticker != nil {
		v.ticker.Stop()
	}
	for _, op := range v.pending {
		op.cancel()
	}
	for _, kill := range v.children {
		kill()
	}
	for _, r := range v.routines {
		if !r.delivered {
			r.delivered = true
			switch r.kind {
			case kRequest:
				// the error Route's caller gets from its select on done,
				// whichever of the two it sees first
				r.call.answerErr(errDecision(ErrClosed.Error()), ErrClosed)
			case kRPC:
				r.rpcDone(nil, ErrClosed)
			}
		}
	}
	v.e.epochMu.Lock()
	if v.e.epochCancel != nil {
		v.e.epochCancel()
	}
	v.e.epochMu.Unlock()
}
