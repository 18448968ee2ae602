package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// domainKind is `domain suffix, ...`: match.domain, the host or any of
// its subdomains.
type domainKind struct {
	strSetKind
	noValueMutants
}

func (domainKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	return checkStr(KDomain, c, u, fam, ctx)
}

func (domainKind) value(c *checker, v string, pos lexer.Position) (string, bool) {
	if c.nonASCII("domain", v, pos) {
		return "", false
	}
	d, ok := canonDomain(v)
	if !ok {
		c.d.errorf(pos, "invalid domain %q", v)
		return "", false
	}
	return d, true
}

// swaps: domain becomes host, the leading dot dropped.
func (domainKind) swaps() []kindSwap {
	return []kindSwap{{"host", func(s string) string { return strings.TrimPrefix(s, ".") }}}
}

func (domainKind) decidesHost(vals []string, h string) bool {
	hc, ok := canonDomain(h)
	if !ok {
		return false
	}
	for _, v := range vals {
		if hc == v || strings.HasSuffix(hc, "."+v) {
			return true
		}
	}
	return false
}

func (domainKind) luaVals(vals []string) []string { return pruneDomains(vals) }

// pruneDomains drops entries subsumed by another entry (patch P2's
// emitter half) and duplicates, keeping the first-seen order.
func pruneDomains(vals []string) []string {
	set := make(map[string]bool, len(vals))
	for _, v := range vals {
		set[v] = true
	}
	out := make([]string, 0, len(vals))
	seen := map[string]bool{}
	for _, v := range vals {
		if seen[v] {
			continue
		}
		seen[v] = true
		sub := false
		for i := 0; i < len(v); i++ {
			if v[i] == '.' && set[v[i+1:]] {
				sub = true
				break
			}
		}
		if !sub {
			out = append(out, v)
		}
	}
	return out
}

// hashKey: the lower-cased host without empty labels, and each of its
// parent domains.
func (domainKind) hashKey(v *view) (string, bool, tri) {
	if !v.doSplit() {
		return "", false, errMatch
	}
	h := v.domainHost()
	if h == "" {
		return "", false, noMatch
	}
	return h, true, isMatch
}

func (domainKind) keyNoun() string { return "suffix" }

func (domainKind) literalKind() LiteralKind { return LitDomain }

func (domainKind) splits() bool { return true }
