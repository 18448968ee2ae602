package dsl

import (
	"slices"
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
	case leafIR:
		return a.covers(b)
	}
	return false
}
