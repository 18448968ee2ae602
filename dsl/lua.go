package dsl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Translate prints the program as a Lua ruleset for libruleset: the same
// decisions, using the libruleset API only. List files are inlined; env()
// values are resolved, so the output may contain secrets.
func Translate(p *Program) string {
	e := &emitter{p: p, named: map[*ActIR]string{}, setVar: map[*SetIR]string{}}
	return e.emit()
}

type emitter struct {
	p      *Program
	b      strings.Builder
	named  map[*ActIR]string
	setVar map[*SetIR]string
	ind    int
}

func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%03d`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func luaIdent(prefix, name string) string {
	return prefix + strings.ReplaceAll(name, "-", "_")
}

func luaNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (e *emitter) line(format string, args ...any) {
	e.b.WriteString(strings.Repeat("    ", e.ind))
	fmt.Fprintf(&e.b, format, args...)
	e.b.WriteByte('\n')
}

func (e *emitter) emit() string {
	p := e.p
	e.line("-- generated from %s by nrt translate; edit the route table, not this file", p.Main)
	e.line("local ruleset = require(\"libruleset\")")
	e.line("")
	for _, s := range p.Sets {
		if s.Dynamic() {
			continue
		}
		used := false
		for _, u := range s.used {
			used = used || u
		}
		if !used {
			continue
		}
		e.line("-- set %s (%s)", s.Name, posString(s.Pos))
		switch s.Kind {
		case SetCIDR:
			if s.used[fam4] {
				v := luaIdent("set4_", s.Name)
				e.line("local %s = %s", v, e.cidr(s.V4))
				e.setVar[s] = v
			}
			if s.used[fam6] {
				e.line("local %s = %s", luaIdent("set6_", s.Name), e.cidr(s.V6))
			}
		case SetList:
			v := luaIdent("set_", s.Name)
			e.line("local %s = composite.anyof({ %s, %s, %s, %s })", v,
				e.str(s.List[0]), e.str(s.List[1]), e.str(s.List[2]), e.str(s.List[3]))
			e.setVar[s] = v
		default:
			v := luaIdent("set_", s.Name)
			e.line("local %s = %s", v, e.str(s.Str))
			e.setVar[s] = v
		}
	}
	for _, a := range p.Actions {
		v := luaIdent("action_", a.Name)
		e.line("-- action %s (%s)", a.Name, posString(a.Pos))
		e.line("local %s = %s", v, e.action(a, true))
		e.named[a] = v
	}
	e.line("local CHAINS = {}")
	for _, c := range p.Chains {
		e.line("-- chain %s (%s)", c.Name, posString(c.Pos))
		e.chain("CHAINS["+luaQuote(c.Name)+"]", c)
	}
	for k, c := range p.Tables {
		name := "_G." + TableKind(k).String()
		if c == nil {
			e.line("%s = nil", name)
			continue
		}
		e.chain(name, c)
	}
	if len(p.Hosts) == 0 {
		e.line("_G.hosts = nil")
	} else {
		e.line("_G.hosts = {")
		e.ind++
		for _, h := range p.Hosts {
			e.line("[%s] = %s, -- %s", luaQuote(h.Key), luaQuote(h.Val), posString(h.Pos))
		}
		e.ind--
		e.line("}")
	}
	e.line("_G.secrets = {")
	e.ind++
	for _, u := range p.Users {
		v := "true"
		if !u.Any {
			v = luaQuote(u.Pass)
		}
		e.line("[%s] = %s,", luaQuote(u.Name), v)
	}
	e.ind--
	e.line("}")
	if d := p.Default; d != nil {
		e.line("-- %s", posString(d.Pos))
		if d.Tag != "" {
			e.line("_G.route_default = { %s, %s }", e.action(d.A, false), luaQuote(d.Tag))
		} else {
			e.line("_G.route_default = { %s }", e.action(d.A, false))
		}
	} else {
		e.line("_G.route_default = nil")
	}
	e.line("return ruleset")
	return e.b.String()
}

func (e *emitter) chain(name string, c *ChainIR) {
	e.line("%s = {", name)
	e.ind++
	for _, r := range c.Rules {
		e.line("-- %s", posString(r.Pos))
		if r.Call != nil {
			e.line("{ composite.subchain(CHAINS, %s) },", luaQuote(r.Call.Name))
			continue
		}
		if r.Tag != "" {
			e.line("{ %s, %s, %s },", e.matcher(r.M), e.action(r.A, false), luaQuote(r.Tag))
		} else {
			e.line("{ %s, %s },", e.matcher(r.M), e.action(r.A, false))
		}
	}
	e.ind--
	e.line("}")
}

func (e *emitter) list(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = luaQuote(v)
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

func (e *emitter) matcher(m MatchIR) string {
	switch m := m.(type) {
	case MAny:
		return "match.any()"
	case leafIR:
		return m.lua(e)
	case *MSet:
		s := m.Set
		if s.Dynamic() {
			return fmt.Sprintf("composite.maybe(_G, %s)", luaQuote(s.global(m.Fam)))
		}
		if s.Kind == SetCIDR && m.Fam == fam6 {
			return luaIdent("set6_", s.Name)
		}
		return e.setVar[s]
	case *MNot:
		return "composite.inverse(" + e.matcher(m.X) + ")"
	case *MAll:
		return "composite.allof({ " + e.matchers(m.Xs) + " })"
	case *MAnyOf:
		return "composite.anyof({ " + e.matchers(m.Xs) + " })"
	}
	return "nil"
}

func (e *emitter) matchers(ms []MatchIR) string {
	xs := make([]string, len(ms))
	for i, m := range ms {
		xs[i] = e.matcher(m)
	}
	return strings.Join(xs, ", ")
}

func (e *emitter) hops(c []string) string {
	var b strings.Builder
	for _, h := range c {
		b.WriteString(", ")
		b.WriteString(luaQuote(h))
	}
	return b.String()
}

// action prints an action; named actions are referenced by their local
// unless def asks for the definition itself.
func (e *emitter) action(a *ActIR, def bool) string {
	if v, ok := e.named[a]; ok && !def {
		return v
	}
	switch a.Kind {
	case ADirect:
		return "rule.direct()"
	case AReject:
		return "rule.reject()"
	case ADefault:
		return "rule.default()"
	case AResolve:
		return "rule.resolve()"
	case ARedirect:
		return "rule.redirect(" + luaQuote(a.Dst) + e.hops(a.Chain) + ")"
	case AProxy:
		return "rule.proxy(" + strings.TrimPrefix(e.hops(a.Chain), ", ") + ")"
	case ARewrite:
		return "rule.rewrite(" + luaQuote(a.Pat) + ", " + luaQuote(a.Repl) + e.hops(a.Chain) + ")"
	case ALoopback:
		return "rule.loopback(" + luaQuote(a.Pat) + ", " + luaQuote(a.Repl) + ")"
	case ARoundRobin:
		xs := make([]string, len(a.Items))
		for i, it := range a.Items {
			xs[i] = e.action(it, false)
		}
		return "lb.roundrobin({ " + strings.Join(xs, ", ") + " })"
	case AIWRR:
		var xs []string
		for i, it := range a.Items {
			if a.Weights[i] > 0 {
				xs = append(xs, fmt.Sprintf("{ %s, %s }", luaNum(a.Weights[i]), e.action(it, false)))
			}
		}
		if len(xs) == 0 {
			return "rule.reject()"
		}
		cyc := ""
		if a.Cycle > 0 {
			cyc = ", " + luaNum(a.Cycle)
		}
		return "lb.iwrr({ " + strings.Join(xs, ", ") + " }" + cyc + ")"
	}
	return "nil"
}
