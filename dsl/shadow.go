package dsl

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// lintShadowed warns about rules that can never decide a request because
// an earlier rule of the same table or chain matches every request they
// match: a CIDR inside an earlier wider CIDR, a name inside an earlier
// domain rule, an exact address after its host rule, with the same or
// more conditions. Rules are evaluated in order and an earlier rule that
// errors stops the request too, so such a rule is dead code: users can
// tell mutants of it, which change nothing, from real differences.
func (c *checker) lintShadowed() {
	chains := slices.Clone(c.p.Chains)
	for _, t := range c.p.Tables {
		if t != nil {
			chains = append(chains, t)
		}
	}
	for _, ch := range chains {
		for j, rj := range ch.Rules {
			if rj.M == nil {
				continue
			}
			for i := 0; i < j; i++ {
				ri := ch.Rules[i]
				if ri.M == nil {
					continue
				}
				if _, isAny := ri.M.(MAny); isAny && i+1 == j {
					break // the unreachable-rule lint says so already
				}
				if implies(rj.M, ri.M) {
					c.d.warnf(rj.Pos, "rule shadowed: every request it matches is matched first by %s (%s)", posString(ri.Pos), ri.Text)
					break
				}
			}
		}
	}
}

// implies reports whether every request matcher b matches is also matched
// by a (b ⊆ a), as far as the literals show it; false means "not known".
func implies(b, a MatchIR) bool {
	switch a := a.(type) {
	case MAny:
		return true
	case *MAll:
		for _, x := range a.Xs {
			if !implies(b, x) {
				return false
			}
		}
		return true
	}
	switch bb := b.(type) {
	case *MAll:
		for _, x := range bb.Xs {
			if implies(x, a) {
				return true
			}
		}
		return false
	case *MAnyOf:
		for _, x := range bb.Xs {
			if !implies(x, a) {
				return false
			}
		}
		return len(bb.Xs) > 0
	}
	if a, ok := a.(*MAnyOf); ok {
		for _, x := range a.Xs {
			if implies(b, x) {
				return true
			}
		}
		return false
	}
	switch a := a.(type) {
	case *MNot:
		if bn, ok := b.(*MNot); ok {
			return implies(a.X, bn.X)
		}
	case *MSet:
		bs, ok := b.(*MSet)
		return ok && bs.Set == a.Set
	case *MCIDR:
		bc, ok := b.(*MCIDR)
		return ok && bc.V6 == a.V6 && cidrInside(bc, a)
	case *MPort:
		bp, ok := b.(*MPort)
		return ok && portsInside(bp, a)
	case *MStr:
		bs, ok := b.(*MStr)
		return ok && strInside(bs, a)
	}
	return false
}

func cidrInside(b, a *MCIDR) bool {
	for _, q := range b.Prefixes {
		if !slices.ContainsFunc(a.Prefixes, func(p netip.Prefix) bool { return p.Bits() <= q.Bits() && p.Contains(q.Addr()) }) {
			return false
		}
	}
	return len(b.Prefixes) > 0
}

func portsInside(b, a *MPort) bool {
	for _, q := range b.Ranges {
		if !slices.ContainsFunc(a.Ranges, func(r PortRange) bool { return r.Lo <= q.Lo && q.Hi <= r.Hi }) {
			return false
		}
	}
	return len(b.Ranges) > 0
}

// strInside compares string matchers by their values: the same kind
// with fewer values, a host or an exact address under a domain, an exact
// address of a host.
func strInside(b, a *MStr) bool {
	if len(b.Vals) == 0 {
		return false
	}
	for _, v := range b.Vals {
		if !valueInside(b.Kind, v, a) {
			return false
		}
	}
	return true
}

func valueInside(kind StrKind, v string, a *MStr) bool {
	if kind == a.Kind && slices.Contains(a.Vals, v) {
		return true
	}
	host := v
	switch kind {
	case KExact:
		h, _, err := addr.Split(v)
		if err != nil {
			return false
		}
		host = addr.Lower(h)
	case KHost, KDomain:
	default:
		return false
	}
	switch a.Kind {
	case KHost:
		return kind == KExact && slices.Contains(a.Vals, host)
	case KDomain:
		d, ok := canonDomain(host)
		if !ok {
			return false
		}
		for _, s := range a.Vals {
			if d == s || strings.HasSuffix(d, "."+s) {
				return true
			}
		}
	}
	return false
}
