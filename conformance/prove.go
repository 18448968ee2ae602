package conformance

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/stdlib"
)

// Proof is the answer of Prove.
type Proof struct {
	// Inexact names what the request space cannot be partitioned on
	// exactly (regex and Lua pattern matchers, Lua functions, loopback):
	// when it is not empty nothing was proved, and the caller falls back
	// to the generated streams.
	Inexact []string
	// Classes is the number of representatives run per world.
	Classes int
	// Mismatch is a counterexample: a request on which the table and the
	// Lua ruleset decide differently, in World.
	Mismatch *Mismatch
	World    World
}

// Equal reports whether the proof shows that both sides decide alike on
// every request.
func (p Proof) Equal() bool { return len(p.Inexact) == 0 && p.Mismatch == nil }

// Prove decides whether the route table p and the Lua ruleset luaSrc
// decide alike on every request, in each of the worlds (their resolver
// answers are part of the question). It reads back what the Lua rule
// tables were built from (libruleset remembers the arguments of each
// declarative constructor), partitions the request space on the literals
// of both sides (PartitionOf) and runs both engines on one representative
// per class. When either side has a matcher or action the partition cannot
// follow, Proof.Inexact names them and nothing is run.
func Prove(p *dsl.Program, luaSrc []byte, chunk string, worlds []World) (Proof, error) {
	if len(worlds) == 0 {
		return Proof{}, fmt.Errorf("prove: no world")
	}
	l, err := NewLuaEngine("L", luaSrc, chunk, LuaOptions{AuthRequired: worlds[0].AuthRequired, Resolve: worlds[0].resolver()})
	if err != nil {
		return Proof{}, err
	}
	r := &luaReader{L: l.L, rewrites: rewritesOf(p)}
	luaProg := r.program(l.rs)
	l.Close()
	part := PartitionOf([]*dsl.Program{p, luaProg}, mapKeysSorted(worlds[0].DNS))
	proof := Proof{Inexact: dedupStrings(append(part.Inexact, r.inexact...)), Classes: len(part.Reps)}
	if len(proof.Inexact) > 0 {
		return proof, nil
	}
	for _, w := range worlds {
		g, err := NewGoEngine(p, Indexed, w)
		if err != nil {
			return proof, err
		}
		l, err := NewLuaEngine("L", luaSrc, chunk, LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
		if err != nil {
			return proof, err
		}
		m := Run([]Engine{g, l}, part.Reps)
		l.Close()
		if m != nil {
			if m.EngineErr != nil {
				return proof, m.EngineErr
			}
			proof.Mismatch, proof.World = m, w
			return proof, nil
		}
	}
	return proof, nil
}

func mapKeysSorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rewritesOf lists the (pattern, replacement) pairs of p's rewrite
// actions. A Lua rule.rewrite with one of them applies the same function
// of the address as the table, so the partition covers it.
func rewritesOf(p *dsl.Program) map[[2]string]bool {
	out := map[[2]string]bool{}
	var walk func(a *dsl.ActIR)
	walk = func(a *dsl.ActIR) {
		if a == nil {
			return
		}
		if a.Kind == dsl.ARewrite {
			out[[2]string{a.Pat, a.Repl}] = true
		}
		for _, it := range a.Items {
			walk(it)
		}
	}
	for _, r := range p.Rules {
		walk(r.A)
	}
	for _, a := range p.Actions {
		walk(a)
	}
	return out
}

// luaReader turns the rule tables of a loaded libruleset ruleset back into
// route-table matchers and actions, as far as the partition needs them
// (their literals, load balancers, redirects), from the provenance records
// libruleset keeps. What it cannot read back exactly goes to inexact.
type luaReader struct {
	L        *lua.LState
	prov     *lua.LTable
	rewrites map[[2]string]bool
	inexact  []string
	chains   map[*lua.LTable]bool // subchains already read
}

// record returns the provenance of v (kind and arguments) or ok=false.
func (r *luaReader) record(v lua.LValue) (kind string, args []lua.LValue, ok bool) {
	if r.prov == nil {
		return "", nil, false
	}
	rec, isTable := r.prov.RawGet(v).(*lua.LTable)
	if !isTable {
		return "", nil, false
	}
	n := int(lua.LVAsNumber(rec.RawGetString("n")))
	for i := 1; i <= n; i++ {
		args = append(args, rec.RawGetInt(i))
	}
	return lua.LVAsString(rec.RawGetString("kind")), args, true
}

func (r *luaReader) cannot(format string, a ...any) {
	r.inexact = append(r.inexact, fmt.Sprintf(format, a...))
}

// where names a Lua function by its definition.
func where(v lua.LValue) string {
	if f, ok := v.(*lua.LFunction); ok && f.Proto != nil {
		return fmt.Sprintf("%s:%d", strings.TrimPrefix(f.Proto.SourceName, "@"), f.Proto.LineDefined)
	}
	return v.Type().String()
}

func (r *luaReader) program(rs *lua.LTable) *dsl.Program {
	p := &dsl.Program{}
	native, _ := r.L.GetField(r.L.GetField(r.L.GetGlobal("package"), "loaded"), stdlib.NativeModule).(*lua.LTable)
	if native != nil {
		r.prov, _ = native.RawGetString("provenance").(*lua.LTable)
	}
	if r.prov == nil {
		r.cannot("a libruleset without provenance records")
		return p
	}
	for _, f := range []string{"resolve", "route", "route6"} {
		if kind, _, _ := r.record(rs.RawGetString(f)); kind != "flow" {
			r.cannot("ruleset.%s (not libruleset's)", f)
		}
	}
	if a := rs.RawGetString("authenticate"); a != lua.LNil {
		r.cannot("ruleset.authenticate (%s)", where(a))
	}
	for _, name := range []string{"redirect_name", "redirect", "redirect6", "route", "route6"} {
		switch t := r.L.GetGlobal(name).(type) {
		case *lua.LNilType:
		case *lua.LTable:
			r.chain(p, name, t)
		default:
			r.cannot("_G.%s (a %s)", name, t.Type())
		}
	}
	switch d := r.L.GetGlobal("route_default").(type) {
	case *lua.LNilType:
	case *lua.LTable:
		p.Rules = append(p.Rules, &dsl.RuleIR{A: r.action(d.RawGetInt(1))})
	default:
		r.cannot("_G.route_default (a %s)", d.Type())
	}
	r.hosts(p)
	r.secrets(p)
	return p
}

// chain reads the entries of a rule chain: {matcher, action [, tag]} or a
// functional entry {composite.subchain(t, k)}.
func (r *luaReader) chain(p *dsl.Program, name string, t *lua.LTable) {
	if r.chains == nil {
		r.chains = map[*lua.LTable]bool{}
	}
	if r.chains[t] {
		return
	}
	r.chains[t] = true
	for i := 1; i <= t.Len(); i++ {
		e, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok {
			r.cannot("%s entry %d (not a table)", name, i)
			continue
		}
		m, a := e.RawGetInt(1), e.RawGetInt(2)
		if a != lua.LNil {
			p.Rules = append(p.Rules, &dsl.RuleIR{M: r.matcher(m), A: r.action(a)})
			continue
		}
		kind, args, _ := r.record(m)
		if kind != "subchain" || len(args) < 2 {
			r.cannot("%s entry %d: a functional matcher (%s)", name, i, where(m))
			continue
		}
		sub, ok := args[0].(*lua.LTable)
		if !ok {
			r.cannot("%s entry %d: composite.subchain of a %s", name, i, args[0].Type())
			continue
		}
		switch ch := sub.RawGet(args[1]).(type) {
		case *lua.LTable:
			r.chain(p, fmt.Sprintf("subchain %s", args[1]), ch)
		case *lua.LNilType:
		default:
			r.cannot("%s entry %d: composite.subchain to a %s", name, i, ch.Type())
		}
	}
}

// strings reads a constructor argument that is a string or a list of
// strings, as the natives do.
func luaStrings(v lua.LValue) ([]string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return []string{string(v)}, true
	case lua.LNumber:
		return []string{v.String()}, true
	case *lua.LTable:
		var out []string
		for i := 1; ; i++ {
			switch e := v.RawGetInt(i).(type) {
			case *lua.LNilType:
				return out, true
			case lua.LString:
				out = append(out, string(e))
			case lua.LNumber:
				out = append(out, e.String())
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

func (r *luaReader) matcher(v lua.LValue) dsl.MatchIR {
	kind, args, ok := r.record(v)
	if !ok {
		r.cannot("a Lua function matcher (%s)", where(v))
		return dsl.MAny{}
	}
	arg := func(i int) lua.LValue {
		if i < len(args) {
			return args[i]
		}
		return lua.LNil
	}
	switch kind {
	case "any":
		return dsl.MAny{}
	case "exact", "host", "domain":
		vals, ok := luaStrings(arg(0))
		if !ok {
			r.cannot("match.%s of a %s", kind, arg(0).Type())
			return dsl.MAny{}
		}
		k := map[string]dsl.StrKind{"exact": dsl.KExact, "host": dsl.KHost, "domain": dsl.KDomain}[kind]
		for i, s := range vals {
			vals[i] = addr.Lower(s)
			if k == dsl.KDomain {
				vals[i] = canonicalDomain(vals[i])
			}
		}
		return &dsl.MStr{Kind: k, Vals: vals}
	case "port":
		return r.port(arg(0), arg(1))
	case "subnet", "subnet6":
		vals, ok := luaStrings(arg(0))
		if !ok {
			r.cannot("%s of a %s", kind, arg(0).Type())
			return dsl.MAny{}
		}
		m := &dsl.MCIDR{V6: kind == "subnet6"}
		for _, s := range vals {
			pf, err := parsePrefix(s)
			if err != nil {
				r.cannot("%s %q (%v)", kind, s, err)
				continue
			}
			m.Prefixes = append(m.Prefixes, pf)
		}
		return m
	case "pattern", "regex":
		vals, _ := luaStrings(arg(0))
		for _, s := range vals {
			r.cannot("%s %q", kind, s)
		}
		return dsl.MAny{}
	case "inverse":
		return &dsl.MNot{X: r.matcher(arg(0))}
	case "anyof", "allof":
		t, ok := arg(0).(*lua.LTable)
		if !ok {
			r.cannot("composite.%s of a %s", kind, arg(0).Type())
			return dsl.MAny{}
		}
		var xs []dsl.MatchIR
		for i := 1; i <= t.Len(); i++ {
			xs = append(xs, r.matcher(t.RawGetInt(i)))
		}
		if kind == "anyof" {
			return &dsl.MAnyOf{Xs: xs}
		}
		return &dsl.MAll{Xs: xs}
	case "maybe":
		// Read as it stands once the ruleset has loaded, as subchains are:
		// an absent matcher matches nothing.
		t, ok := arg(0).(*lua.LTable)
		if !ok {
			r.cannot("composite.maybe of a %s", arg(0).Type())
			return dsl.MAny{}
		}
		if f := t.RawGet(arg(1)); f != lua.LNil {
			return r.matcher(f)
		}
		return &dsl.MAnyOf{}
	}
	r.cannot("composite.%s", kind)
	return dsl.MAny{}
}

// port reads match.port(from [, to]) or match.port{p, ...}. The list form
// compares the port text, so it matches "80" but not "080"; each item
// still bounds a class, which is all the partition needs.
func (r *luaReader) port(from, to lua.LValue) dsl.MatchIR {
	m := &dsl.MPort{}
	num := func(v lua.LValue) (int, bool) {
		n, ok := v.(lua.LNumber)
		if !ok || float64(n) != float64(int(n)) {
			r.cannot("match.port bound %s", v)
			return 0, false
		}
		return int(n), true
	}
	if t, ok := from.(*lua.LTable); ok {
		for i := 1; i <= t.Len(); i++ {
			if n, ok := num(t.RawGetInt(i)); ok {
				m.Ranges = append(m.Ranges, dsl.PortRange{Lo: n, Hi: n})
			}
		}
		return m
	}
	if to == lua.LNil {
		to = from
	}
	lo, ok1 := num(from)
	hi, ok2 := num(to)
	if ok1 && ok2 {
		m.Ranges = append(m.Ranges, dsl.PortRange{Lo: lo, Hi: hi})
	}
	return m
}

// canonicalDomain drops the empty labels of a domain, which
// match.domain ignores: ".lan" and "lan." are "lan".
func canonicalDomain(s string) string {
	var labels []string
	for _, l := range strings.Split(s, ".") {
		if l != "" {
			labels = append(labels, l)
		}
	}
	return strings.Join(labels, ".")
}

// parsePrefix reads a subnet as inet.subnet does: "a/bits" or a bare
// address (all bits).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (r *luaReader) action(v lua.LValue) *dsl.ActIR {
	kind, args, ok := r.record(v)
	if !ok {
		r.cannot("a Lua function action (%s)", where(v))
		return nil
	}
	arg := func(i int) lua.LValue {
		if i < len(args) {
			return args[i]
		}
		return lua.LNil
	}
	switch kind {
	case "rule.direct", "rule.reject", "rule.default", "rule.proxy", "rule.resolve":
		return &dsl.ActIR{Kind: dsl.ADirect}
	case "rule.redirect":
		return &dsl.ActIR{Kind: dsl.ARedirect, Dst: lua.LVAsString(arg(0))}
	case "rule.rewrite":
		pat, repl := lua.LVAsString(arg(0)), lua.LVAsString(arg(1))
		if !r.rewrites[[2]string{pat, repl}] {
			r.cannot("rule.rewrite(%q, %q) (not a rewrite of the route table)", pat, repl)
		}
		return &dsl.ActIR{Kind: dsl.ADirect}
	case "roundrobin":
		a := &dsl.ActIR{Kind: dsl.ARoundRobin}
		if t, ok := arg(0).(*lua.LTable); ok {
			for i := 1; i <= t.Len(); i++ {
				a.Items = append(a.Items, r.action(t.RawGetInt(i)))
			}
		}
		return a
	case "iwrr":
		a := &dsl.ActIR{Kind: dsl.AIWRR, Cycle: float64(lua.LVAsNumber(arg(1)))}
		if t, ok := arg(0).(*lua.LTable); ok {
			for i := 1; i <= t.Len(); i++ {
				if e, ok := t.RawGetInt(i).(*lua.LTable); ok {
					a.Items = append(a.Items, r.action(e.RawGetInt(2)))
				}
			}
		}
		return a
	case "rule.loopback":
		r.cannot("rule.loopback(%q, %q)", lua.LVAsString(arg(0)), lua.LVAsString(arg(1)))
		return nil
	case "rule.maybe":
		// As composite.maybe: an absent action rejects.
		t, ok := arg(0).(*lua.LTable)
		if !ok {
			r.cannot("rule.maybe of a %s", arg(0).Type())
			return nil
		}
		if f := t.RawGet(arg(1)); f != lua.LNil {
			return r.action(f)
		}
		return &dsl.ActIR{Kind: dsl.AReject}
	}
	r.cannot("%s", kind)
	return nil
}

// hosts reads _G.hosts.
func (r *luaReader) hosts(p *dsl.Program) {
	switch t := r.L.GetGlobal("hosts").(type) {
	case *lua.LNilType:
	case *lua.LTable:
		t.ForEach(func(k, v lua.LValue) {
			ks, ok1 := k.(lua.LString)
			vs, ok2 := v.(lua.LString)
			if !ok1 || !ok2 {
				r.cannot("_G.hosts entry %s = %s", k, v)
				return
			}
			p.Hosts = append(p.Hosts, dsl.HostIR{Key: string(ks), Val: string(vs)})
		})
		slices.SortFunc(p.Hosts, func(a, b dsl.HostIR) int { return strings.Compare(a.Key, b.Key) })
	default:
		r.cannot("_G.hosts (a %s)", t.Type())
	}
}

// secrets reads _G.secrets: user = "password" or user = true.
func (r *luaReader) secrets(p *dsl.Program) {
	switch t := r.L.GetGlobal("secrets").(type) {
	case *lua.LNilType:
	case *lua.LTable:
		t.ForEach(func(k, v lua.LValue) {
			name, ok := k.(lua.LString)
			if !ok {
				r.cannot("_G.secrets key %s", k)
				return
			}
			switch v := v.(type) {
			case lua.LString:
				p.Users = append(p.Users, dsl.UserIR{Name: string(name), Pass: string(v)})
			case lua.LBool:
				if v {
					p.Users = append(p.Users, dsl.UserIR{Name: string(name), Any: true})
				}
			default:
				r.cannot("_G.secrets[%q] (a %s)", string(name), v.Type())
			}
		})
		p.HasUsers = len(p.Users) > 0
		slices.SortFunc(p.Users, func(a, b dsl.UserIR) int { return strings.Compare(a.Name, b.Name) })
	default:
		r.cannot("_G.secrets (a %s)", t.Type())
	}
}
