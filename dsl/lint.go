package dsl

import (
	"fmt"
)

// lint adds the warnings and whole-program errors that need the complete
// program: unreachable and shadowed rules, hosts entries shadowed by
// redirect_name, routing loops through default.
func (c *checker) lint() {
	c.lintShadowed()
	p := c.p
	chains := append([]*ChainIR{}, p.Chains...)
	for _, t := range p.Tables {
		if t != nil {
			chains = append(chains, t)
		}
	}
	for _, ch := range chains {
		for i, r := range ch.Rules {
			if _, isAny := r.M.(MAny); isAny && i+1 < len(ch.Rules) {
				next := ch.Rules[i+1]
				c.d.warnf(next.Pos, "unreachable rule: %s matches every request (`any`)", posString(r.Pos))
				break
			}
		}
	}
	if rn := p.Tables[TRedirectName]; rn != nil {
		for _, h := range p.Hosts {
			for _, r := range rn.Rules {
				if r.M != nil && decidesHost(r.M, h.Key) {
					c.d.warnf(h.Pos, "hosts entry %s is never consulted: rule %s (%s) decides every request for it", h.Key, posString(r.Pos), r.Text)
					break
				}
			}
		}
	}
	if p.Default != nil {
		if path := loopPath(p.Default.A); path != "" {
			c.d.errorf(p.Default.A.Pos, "routing loop default -> %s: requests no route rule decides come back to default", path)
		} else {
			return
		}
		note := fmt.Sprintf("%s `default => %s`", posString(p.Default.A.Pos), actText(p.Default.A))
		for k, t := range p.Tables {
			if t == nil || TableKind(k) == TRedirectName {
				continue
			}
			for _, r := range t.Rules {
				if r.A != nil && hasKind(r.A, ADefault) {
					back := "route"
					if TableKind(k) == TRoute6 || TableKind(k) == TRedirect6 {
						back = "route6"
					}
					c.d.errorf(r.A.Pos, "routing loop %s -> default -> %s -> %s (note: %s)", t.Name, actText(p.Default.A), back, note)
				}
			}
		}
	}
}

// loopPath reports how the default action re-enters the flow
// unconditionally: through `default` or `resolve` (a resolved address goes
// back through route and, undecided, to default again).
func loopPath(a *ActIR) string {
	switch {
	case hasKind(a, ADefault):
		return "default"
	case hasKind(a, AResolve):
		return "resolve -> route -> default"
	}
	return ""
}

func hasKind(a *ActIR, k ActKind) bool {
	if a.Kind == k {
		return true
	}
	for _, it := range a.Items {
		if hasKind(it, k) {
			return true
		}
	}
	return false
}

func actText(a *ActIR) string {
	if a.Name != "" {
		return a.Name
	}
	return [...]string{"direct", "reject", "default", "resolve", "redirect", "proxy", "rewrite", "loopback", "roundrobin", "weighted"}[a.Kind]
}

// decidesHost reports whether matcher m surely matches every request whose
// host is h (whatever the port).
func decidesHost(m MatchIR, h string) bool {
	switch m := m.(type) {
	case MAny:
		return true
	case leafIR:
		return m.decidesHost(h)
	case *MAnyOf:
		for _, x := range m.Xs {
			if decidesHost(x, h) {
				return true
			}
		}
	case *MAll:
		for _, x := range m.Xs {
			if !decidesHost(x, h) {
				return false
			}
		}
		return len(m.Xs) > 0
	}
	return false
}

// lintUnusedUpstreams warns about an upstream no rule or action proxies
// through: a leftover, or a rule that names a proxy URI where the upstream
// was meant. Declarations of included files are a shared library and are
// not reported.
func (c *checker) lintUnusedUpstreams() {
	for _, d := range c.decls {
		u := d.Upstream
		if u == nil || c.fileOfAt[d] != c.p.Main {
			continue
		}
		if _, ok := c.ups[u.Name.Name]; ok && !c.upUsed[u.Name.Name] {
			c.d.warnf(u.Name.Pos, "upstream %s is never used", u.Name.Name)
		}
	}
}

// lintUnusedSets warns about a set no `in` matcher reads; an external one
// could be filled through the API and still decide nothing. Sets of
// included files are not reported (see lintUnusedUpstreams).
func (c *checker) lintUnusedSets() {
	for _, s := range c.p.Sets {
		if s.Pos.Filename != c.p.Main || s.used != [3]bool{} {
			continue
		}
		c.d.warnf(s.Pos, "set %s is never used", s.Name)
	}
}
