package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/stdlib"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
)

// LuaOptions configure a LuaEngine.
type LuaOptions struct {
	// AuthRequired is what neosocksd.config().auth_required reports.
	AuthRequired bool
	// Resolve backs await.resolve; nil: every name fails to resolve.
	Resolve func(ctx context.Context, host string) (netip.Addr, error)
}

// LuaEngine runs a Lua ruleset (a chunk returning a libruleset-style
// ruleset table, such as the output of nrt translate or a hand-written
// file) on gopher-lua with our libruleset.lua, the way the daemon would,
// but with synchronous stand-ins for the host:
//
//   - neosocksd.config() reports loglevel 3 and auth_required;
//     neosocksd.splithostport/parse_ipv4/parse_ipv6 are the stdlib natives;
//   - await.forward(addr, proxyN, ..., proxy1) records its arguments and
//     returns true: that is the decision (chain reversed to first hop first);
//   - await.resolve(host) asks LuaOptions.Resolve and answers the address as
//     text (IPv4-mapped answers unmapped, as the Go engine treats them) or nil;
//   - tag events and authentication failures come from stdlib's event sink;
//   - pcall, xpcall, print and coroutine.running, isyieldable, yield,
//     status, resume and wrap are stdlib's host layer, the code the
//     daemon runs (the daemon adds its routines to resume), installed by
//     stdlib.OpenHost with the zero stdlib.Host (body threads from the
//     state's own free list, print to standard output): errors caught by
//     pcall read the same and yields pass through pcall inside a
//     coroutine as in the daemon. The callbacks run on the main thread,
//     where the daemon runs them in a routine, so coroutine.running()
//     there is the main thread and nothing yields to a scheduler.
//
// Every Reset starts a fresh state and loads the chunk again, so load
// balancers restart. A LuaEngine is not safe for concurrent use.
type LuaEngine struct {
	name  string
	src   []byte
	chunk string
	opts  LuaOptions

	L       *lua.LState
	rs      *lua.LTable
	called  bool
	fwdArgs []lua.LValue
	events  []Event
	cur     Request
	last    Outcome
}

// NewLuaEngine returns an engine for the Lua ruleset src; chunkname names
// it in Lua errors (e.g. "@rules.lua"). The chunk is loaded once to report
// load errors early.
func NewLuaEngine(name string, src []byte, chunkname string, o LuaOptions) (*LuaEngine, error) {
	e := &LuaEngine{name: name, src: src, chunk: chunkname, opts: o}
	if err := e.Reset(); err != nil {
		return nil, err
	}
	return e, nil
}

// Name returns the engine's name.
func (e *LuaEngine) Name() string { return e.name }

// Close releases the Lua state.
func (e *LuaEngine) Close() {
	if e.L != nil {
		e.L.Close()
		e.L = nil
	}
}

// Reset loads the ruleset into a fresh Lua state.
func (e *LuaEngine) Reset() error {
	e.Close()
	L := lua.NewState()
	stdlib.OpenHost(L, stdlib.Host{})
	ns := stdlib.OpenAddr(L)
	L.SetField(ns, "config", L.NewFunction(func(L *lua.LState) int {
		c := L.NewTable()
		c.RawSetString("loglevel", lua.LNumber(3))
		c.RawSetString("auth_required", lua.LBool(e.opts.AuthRequired))
		L.Push(c)
		return 1
	}))
	L.SetGlobal("neosocksd", ns)
	aw := L.NewTable()
	L.SetField(aw, "forward", L.NewFunction(e.luaForward))
	L.SetField(aw, "resolve", L.NewFunction(e.luaResolve))
	L.SetGlobal("await", aw)
	stdlib.SetEventSink(L, e.sink)
	e.L = L
	fn, err := lua54.Load(L, e.src, e.chunk)
	if err != nil {
		return fmt.Errorf("%s: load: %w", e.name, err)
	}
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}); err != nil {
		return fmt.Errorf("%s: run: %w", e.name, err)
	}
	ret := L.Get(-1)
	L.Pop(1)
	rs, ok := ret.(*lua.LTable)
	if !ok {
		return fmt.Errorf("%s: the chunk returned %s, want a ruleset table", e.name, ret.Type())
	}
	L.SetGlobal("ruleset", rs)
	e.rs = rs
	return nil
}

func (e *LuaEngine) luaForward(L *lua.LState) int {
	e.called = true
	e.fwdArgs = e.fwdArgs[:0]
	for i := 1; i <= L.GetTop(); i++ {
		e.fwdArgs = append(e.fwdArgs, L.Get(i))
	}
	L.Push(lua.LTrue)
	return 1
}

func (e *LuaEngine) luaResolve(L *lua.LState) int {
	host := L.CheckString(1)
	if e.opts.Resolve == nil {
		L.Push(lua.LNil)
		return 1
	}
	ip, err := e.opts.Resolve(context.Background(), host)
	if err != nil || !ip.IsValid() {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(ip.Unmap().String()))
	return 1
}

func (e *LuaEngine) sink(ev stdlib.Event) {
	switch ev.Kind {
	case stdlib.EventRule:
		e.events = append(e.events, Event{Tag: ev.Tag, Addr: ev.Addr})
	case stdlib.EventAuthFail:
		u := ev.User
		if !e.cur.Cred.HasUsername {
			u = ""
		}
		e.events = append(e.events, Event{Tag: "auth-fail", Addr: u})
	}
}

// errBadDecision reports a decision that is neither nil nor an address
// followed by proxy URIs.
var errBadDecision = errors.New("conformance: the ruleset forwarded something that is not an address")

// Decide runs ruleset.resolve/route/route6(addr, user, password).
func (e *LuaEngine) Decide(r Request) (Outcome, error) {
	out, err := e.decide(r)
	e.last = out
	return out, err
}

func (e *LuaEngine) decide(r Request) (Outcome, error) {
	L := e.L
	fn := e.rs.RawGetString(r.Callback.String())
	if fn.Type() != lua.LTFunction {
		return Outcome{}, fmt.Errorf("%s: ruleset.%s is %s", e.name, r.Callback, fn.Type())
	}
	e.cur, e.called, e.events, e.fwdArgs = r, false, nil, e.fwdArgs[:0]
	args := []lua.LValue{lua.LString(r.Addr), lua.LNil, lua.LNil}
	if r.Cred.HasUsername {
		args[1] = lua.LString(r.Cred.Username)
	}
	if r.Cred.HasPassword {
		args[2] = lua.LString(r.Cred.Password)
	}
	top := L.GetTop()
	err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true}, args...)
	L.SetTop(top)
	out := Outcome{Events: e.events}
	if err != nil {
		var ae *lua.ApiError
		reason := err.Error()
		if errors.As(err, &ae) {
			reason = ae.Object.String()
		}
		out.Verdict, out.Reason = route.Error, reason
		return out, nil
	}
	if !e.called || len(e.fwdArgs) == 0 || e.fwdArgs[0] == lua.LNil {
		out.Verdict = route.Reject
		return out, nil
	}
	target, ok := e.fwdArgs[0].(lua.LString)
	if !ok {
		out.Verdict, out.Reason = route.Error, errBadDecision.Error()
		return out, nil
	}
	hops := make([]string, 0, len(e.fwdArgs)-1)
	for i := len(e.fwdArgs) - 1; i >= 1; i-- {
		s, ok := e.fwdArgs[i].(lua.LString)
		if !ok {
			out.Verdict, out.Reason = route.Error, errBadDecision.Error()
			return out, nil
		}
		hops = append(hops, string(s))
	}
	out.Verdict, out.Target, out.Chain = route.Forward, string(target), route.MakeChain(hops...)
	return out, nil
}

var (
	posCommentRE = regexp.MustCompile(`^\s*-- (\S+:\d+:\d+)\s*$`)
	tagEntryRE   = regexp.MustCompile(`, "((?:[^"\\]|\\.)*)" },?\s*$|^_G\.route_default = \{ .*, "((?:[^"\\]|\\.)*)" \}\s*$`)
)

// Trace renders the Lua side's last decision with its events, each
// mapped through the `-- file:line:col` comments of translated source to
// the rules that carry its tag.
func (e *LuaEngine) Trace(r Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "request  %s %q (auth %s)\n", r.Callback, r.Addr, map[bool]string{false: "off", true: "on"}[e.opts.AuthRequired])
	fmt.Fprintf(&b, "decision %s\n", e.last)
	tags := map[string][]string{}
	pos := ""
	for _, line := range strings.Split(string(e.src), "\n") {
		if m := posCommentRE.FindStringSubmatch(line); m != nil {
			pos = m[1]
			continue
		}
		if m := tagEntryRE.FindStringSubmatch(line); m != nil && pos != "" {
			tag := m[1] + m[2]
			tags[tag] = append(tags[tag], pos)
		}
	}
	for _, ev := range e.last.Events {
		fmt.Fprintf(&b, "event    [%s] %q", ev.Tag, ev.Addr)
		if ps := tags[ev.Tag]; len(ps) > 0 {
			fmt.Fprintf(&b, "  rules tagged so: %s", strings.Join(ps, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
