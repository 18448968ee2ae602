package conformance

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// World is the environment shared by every engine of one comparison.
type World struct {
	AuthRequired bool
	// DNS answers the resolve action: name (lower case) -> address; names
	// not listed fail, IP literals resolve to themselves.
	DNS map[string]string
}

func (w World) resolver() func(context.Context, string) (netip.Addr, error) {
	return dsl.FakeResolver(w.DNS)
}

// GoMode selects a variant of the compiled engine.
type GoMode uint8

// The compiled engine's variants of design §8.
const (
	Indexed GoMode = iota // G: production settings
	Linear                // G0: segment index off
	Traced                // GT: trace mode (always linear)
)

// GoEngine runs a route table on the compiled engine.
type GoEngine struct {
	name  string
	prog  *dsl.Program
	mode  GoMode
	world World
	t     *dsl.Table
	last  string // trace of the last decision (Traced)
}

// NewGoEngine returns engine G, G0 or GT for p.
func NewGoEngine(p *dsl.Program, mode GoMode, w World) (*GoEngine, error) {
	e := &GoEngine{name: [...]string{"G", "G0", "GT"}[mode], prog: p, mode: mode, world: w}
	return e, e.Reset()
}

// Name returns G, G0 or GT.
func (e *GoEngine) Name() string { return e.name }

// Reset compiles the program again (fresh load-balancer state).
func (e *GoEngine) Reset() error {
	t, err := dsl.CompileWith(e.prog, dsl.CompileOptions{NoIndex: e.mode == Linear})
	if err != nil {
		return err
	}
	e.t = t
	return nil
}

// Decide runs one request.
func (e *GoEngine) Decide(r Request) (Outcome, error) {
	env := dsl.Env{AuthRequired: e.world.AuthRequired, Resolve: e.world.resolver()}
	var d route.Decision
	var ev []dsl.Event
	if e.mode == Traced {
		e.last, _, d, ev = e.t.Explain(r.Callback, r.Addr, r.Cred, env)
	} else {
		d, ev = e.t.Decide(context.Background(), r.Callback, r.Addr, r.Cred, &env)
	}
	out := Outcome{Verdict: d.Verdict, Reason: d.Reason}
	if d.Verdict == route.Forward {
		out.Target, out.Chain = d.Target, d.Chain
	}
	for _, x := range ev {
		out.Events = append(out.Events, Event{Tag: x.Tag, Addr: x.Addr})
	}
	return out, nil
}

// Trace explains r on a throw-away copy of the table, so that load
// balancers of the compared stream are not advanced.
func (e *GoEngine) Trace(r Request) string {
	t, err := dsl.Compile(e.prog)
	if err != nil {
		return err.Error()
	}
	env := dsl.Env{AuthRequired: e.world.AuthRequired, Resolve: e.world.resolver()}
	text, _, _, _ := t.Explain(r.Callback, r.Addr, r.Cred, env)
	if hasLB(e.prog) {
		text += "note     traced on a fresh table: load balancers start over, the stream's pick may differ\n"
	}
	return text
}

// hasLB reports whether p has a roundrobin or weighted action.
func hasLB(p *dsl.Program) bool {
	var lb func(a *dsl.ActIR) bool
	lb = func(a *dsl.ActIR) bool {
		if a == nil {
			return false
		}
		if a.Kind == dsl.ARoundRobin || a.Kind == dsl.AIWRR {
			return true
		}
		return slices.ContainsFunc(a.Items, lb)
	}
	return slices.ContainsFunc(p.Rules, func(r *dsl.RuleIR) bool { return lb(r.A) }) || slices.ContainsFunc(p.Actions, lb)
}

// Engines returns the four engines of design §8 for p: G (first, the
// reference of the comparison), G0, GT and L (the translation on
// gopher-lua with our libruleset.lua). Callers Close the Lua engine.
func Engines(p *dsl.Program, w World) ([]Engine, *LuaEngine, error) {
	var out []Engine
	for _, m := range []GoMode{Indexed, Linear, Traced} {
		e, err := NewGoEngine(p, m, w)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
	l, err := NewLuaEngine("L", []byte(dsl.Translate(p)), "@"+luaName(p.Main), LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
	if err != nil {
		return nil, nil, err
	}
	return append(out, l), l, nil
}

func luaName(nrt string) string {
	return strings.TrimSuffix(nrt, ".nrt") + ".lua"
}

// LiteralsOf collects the values a route table mentions: names of exact,
// host and domain matchers and hosts entries (domains also with a
// subdomain), whole addresses of exact matchers and redirects, prefixes,
// ports and users.
func LiteralsOf(p *dsl.Program) Literals {
	var l Literals
	walk := func(m dsl.MatchIR) {
		eachLeaf(m, func(leaf dsl.Leaf) {
			for _, x := range leaf.Literals() {
				l.literal(x)
			}
		})
	}
	var act func(a *dsl.ActIR)
	act = func(a *dsl.ActIR) {
		if a == nil {
			return
		}
		if a.Kind == dsl.ARedirect {
			if h, p, err := addr.Split(a.Dst); err == nil && h != "" && p != "" {
				l.Addrs = append(l.Addrs, a.Dst)
			}
		}
		if a.Kind == dsl.ARewrite || a.Kind == dsl.ALoopback {
			l.Patterns = append(l.Patterns, a.Pat)
			l.Names = append(l.Names, patternWords(a.Pat)...)
			l.Names = append(l.Names, patternWords(a.Repl)...)
		}
		for _, it := range a.Items {
			act(it)
		}
	}
	for _, r := range p.Rules {
		if r.M != nil {
			walk(r.M)
			l.Probes = append(l.Probes, mcdcProbes(r.M)...)
		}
		act(r.A)
	}
	l.Probes = append(l.Probes, orderProbes(p)...)
	for _, h := range p.Hosts {
		l.Names = append(l.Names, h.Key)
		if _, ok := addr.ParseIPv4(h.Val); !ok {
			if _, ok := addr.ParseIPv6(h.Val); !ok {
				l.Names = append(l.Names, h.Val)
			}
		}
	}
	if p.HasUsers {
		l.Users = map[string]string{}
		for _, u := range p.Users {
			l.Users[u.Name] = u.Pass
		}
	}
	for _, t := range p.Tests {
		for k := range t.DNS {
			l.Names = append(l.Names, k)
		}
		for _, c := range t.Cases {
			l.Addrs = append(l.Addrs, c.Addr)
		}
	}
	l.dedup()
	return l
}

// labelRE is a single DNS label that is not a number.
var labelRE = regexp.MustCompile(`^\.?[A-Za-z0-9-]*[A-Za-z-][A-Za-z0-9-]*$`)

var wordRE = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+`)

// patternWords pulls host-like words out of a Lua pattern or a regex
// (escapes removed), so that streams also probe pattern rules.
func patternWords(p string) []string {
	p = strings.NewReplacer("%.", ".", `\.`, ".", "%-", "-").Replace(p)
	return wordRE.FindAllString(p, -1)
}

var (
	luaStringRE = regexp.MustCompile(`"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'`)
	// luaMatcherRE finds the argument of match.regex/match.pattern and the
	// pattern of rule.rewrite/rule.loopback: a table of strings or one
	// string, quoted or long.
	luaMatcherRE   = regexp.MustCompile(`(match\.regex|match\.pattern|rule\.rewrite|rule\.loopback)\s*\(\s*(\{[^}]*\}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\[\[[^\]]*\]\])`)
	luaAnyStringRE = regexp.MustCompile(`"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|\[\[([^\]]*)\]\]`)
)

// luaSecretsRE finds the entries of a `secrets = { ... }` table:
// ["user"] = "password", user = "password" or user = true.
var (
	luaSecretsRE = regexp.MustCompile(`secrets\s*=\s*\{([^}]*)\}`)
	luaSecretRE  = regexp.MustCompile(`(?:\[\s*"((?:[^"\\]|\\.)*)"\s*\]|([A-Za-z_][A-Za-z0-9_]*))\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(true))`)
)

// luaUsers adds the users of src's secrets table, so that streams try
// their credentials even when the route table has none.
func luaUsers(l *Literals, src []byte) {
	for _, t := range luaSecretsRE.FindAllSubmatch(src, -1) {
		for _, e := range luaSecretRE.FindAllSubmatch(t[1], -1) {
			user := string(e[1]) + string(e[2])
			if u, err := strconv.Unquote(`"` + user + `"`); err == nil {
				user = u
			}
			pass := string(e[3])
			if p, err := strconv.Unquote(`"` + pass + `"`); err == nil {
				pass = p
			}
			if l.Users == nil {
				l.Users = map[string]string{}
			}
			l.Users[user] = pass
		}
	}
}

// luaMatcherLiterals adds the regexes and Lua patterns of src's
// match.regex, match.pattern, rule.rewrite and rule.loopback calls.
func luaMatcherLiterals(l *Literals, src []byte) {
	for _, m := range luaMatcherRE.FindAllSubmatch(src, -1) {
		fn, arg := string(m[1]), m[2]
		strs := luaAnyStringRE.FindAllSubmatch(arg, -1)
		if fn == "rule.rewrite" || fn == "rule.loopback" {
			strs = strs[:min(len(strs), 1)]
		}
		for _, q := range strs {
			v := string(q[1]) + string(q[2]) + string(q[3])
			if q[3] == nil {
				if u, err := strconv.Unquote(`"` + strings.ReplaceAll(v, `\'`, `'`) + `"`); err == nil {
					v = u
				}
			}
			if fn == "match.regex" {
				l.Regexes = append(l.Regexes, v)
			} else {
				l.Patterns = append(l.Patterns, v)
			}
		}
	}
}

// LuaLiterals collects candidate literals from Lua source: every short
// string literal that looks like an address, a prefix, a domain or a
// pattern with host-like words. It is a heuristic for hand-written
// rulesets; the streams also carry every fixed edge case.
func LuaLiterals(src []byte) Literals {
	var l Literals
	luaMatcherLiterals(&l, src)
	luaUsers(&l, src)
	for _, m := range luaStringRE.FindAllSubmatch(src, -1) {
		s := string(m[1])
		if m[2] != nil {
			s = string(m[2])
		}
		if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
			s = u
		}
		if p, err := netip.ParsePrefix(strings.TrimPrefix(s, ".")); err == nil {
			l.Prefixes = append(l.Prefixes, p)
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			l.Prefixes = append(l.Prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		if h, p, err := addr.Split(s); err == nil && strings.Contains(s, ":") && !strings.Contains(s, "//") {
			if h != "" && p != "" {
				l.Addrs = append(l.Addrs, s)
			}
			if h != "" {
				l.Names = append(l.Names, strings.Trim(h, "[]"))
			}
			if n, err := strconv.Atoi(p); err == nil && n >= 0 && n < 65536 {
				l.Ports = append(l.Ports, uint16(n))
			}
			continue
		}
		if labelRE.MatchString(s) {
			l.Names = append(l.Names, strings.TrimPrefix(s, ".")) // a single-label domain or host: "lan", "localhost"
			continue
		}
		l.Names = append(l.Names, patternWords(strings.TrimPrefix(s, "."))...)
	}
	l.dedup()
	return l
}

func (l *Literals) dedup() {
	slices.Sort(l.Names)
	l.Names = slices.Compact(l.Names)
	slices.Sort(l.Addrs)
	l.Addrs = slices.Compact(l.Addrs)
	slices.SortFunc(l.Prefixes, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	l.Prefixes = slices.Compact(l.Prefixes)
	slices.Sort(l.Ports)
	l.Ports = slices.Compact(l.Ports)
	for _, xs := range []*[]string{&l.Regexes, &l.Patterns, &l.Probes} {
		slices.Sort(*xs)
		*xs = slices.Compact(*xs)
	}
}

// MakeDNS builds the suite's fake resolver answers for lits: each name
// resolves, chosen by a hash of seed and name, to an address inside or
// next to one of the prefixes, to a fixed IPv4 or IPv6 address, or fails.
func MakeDNS(lits Literals, seed uint64) map[string]string {
	dns := map[string]string{}
	for _, n := range lits.Names {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s", seed, addr.Lower(n))
		x := h.Sum64()
		switch x % 5 {
		case 0: // fails
		case 1:
			dns[addr.Lower(n)] = "203.0.113.7"
		case 2:
			dns[addr.Lower(n)] = "2001:db8::7"
		default:
			if len(lits.Prefixes) == 0 {
				dns[addr.Lower(n)] = "192.0.2.1"
				continue
			}
			p := lits.Prefixes[(x/5)%uint64(len(lits.Prefixes))]
			edges := prefixEdges(p)
			dns[addr.Lower(n)] = edges[(x/7)%uint64(len(edges))].String()
		}
	}
	return dns
}

func (w World) String() string {
	return fmt.Sprintf("auth_required=%v dns=%d names", w.AuthRequired, len(w.DNS))
}

// eachLeaf calls f for every leaf matcher under m: the members of sets,
// and the operands of not, all and any-of.
func eachLeaf(m dsl.MatchIR, f func(dsl.Leaf)) {
	switch m := m.(type) {
	case dsl.Leaf:
		f(m)
	case *dsl.MSet:
		for _, x := range m.Set.Leaves() {
			f(x)
		}
	case *dsl.MNot:
		eachLeaf(m.X, f)
	case *dsl.MAll:
		for _, x := range m.Xs {
			eachLeaf(x, f)
		}
	case *dsl.MAnyOf:
		for _, x := range m.Xs {
			eachLeaf(x, f)
		}
	}
}

// literal adds what one matcher literal mentions: names (a domain also
// with a subdomain, a regex's or pattern's host-like words), whole
// addresses, ports (both ends of a range) and prefixes.
func (l *Literals) literal(x dsl.Literal) {
	v := x.Value
	switch x.Kind {
	case dsl.LitAddr:
		l.Addrs = append(l.Addrs, v)
		if h, port, err := addr.Split(v); err == nil {
			l.Names = append(l.Names, h)
			if n, err := strconv.Atoi(port); err == nil && n >= 0 && n < 65536 {
				l.Ports = append(l.Ports, uint16(n))
			}
		}
	case dsl.LitHost:
		l.Names = append(l.Names, v)
	case dsl.LitDomain:
		l.Names = append(l.Names, v, "www."+v)
	case dsl.LitRegex:
		l.Regexes = append(l.Regexes, v)
		l.Names = append(l.Names, patternWords(v)...)
	case dsl.LitPattern:
		l.Patterns = append(l.Patterns, v)
		l.Names = append(l.Names, patternWords(v)...)
	case dsl.LitPorts:
		l.Ports = append(l.Ports, uint16(x.Ports.Lo), uint16(x.Ports.Hi))
	case dsl.LitPrefix:
		l.Prefixes = append(l.Prefixes, x.Prefix)
	}
}
