package dsl

import (
	"fmt"
	"strings"
)

// lint adds the warnings and whole-program errors that need the complete
// program: unreachable rules, hosts entries shadowed by redirect_name,
// routing loops through default.
func (c *checker) lint() {
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
	case *MStr:
		switch m.Kind {
		case KHost:
			for _, v := range m.Vals {
				if v == h {
					return true
				}
			}
		case KDomain:
			hc, ok := canonDomain(h)
			if !ok {
				return false
			}
			for _, v := range m.Vals {
				if hc == v || strings.HasSuffix(hc, "."+v) {
					return true
				}
			}
		}
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
