package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/addr"
)

// exactKind is `exact host:port, ...`: match.exact, the whole address
// compared case-insensitively.
type exactKind struct {
	strSetKind
	sameVals
	noValueMutants
	decidesNoHost
}

func (exactKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	return checkStr(KExact, c, u, fam, ctx)
}

func (exactKind) value(c *checker, v string, pos lexer.Position) (string, bool) {
	if c.nonASCII("address", v, pos) {
		return "", false
	}
	_, port, err := addr.Split(v)
	if err != nil || port == "" {
		if err == nil || !strings.Contains(v, ":") {
			c.d.errorf(pos, "exact %q: missing \":port\" (exact compares the whole host:port; use `host %s`)", v, v)
		} else {
			c.d.errorf(pos, "exact %q: invalid address (write host:port, IPv6 as [addr]:port)", v)
		}
		return "", false
	}
	return addr.Lower(v), true
}

// swaps: exact becomes host, the port dropped.
func (exactKind) swaps() []kindSwap {
	return []kindSwap{{"host", func(s string) string {
		if i := strings.LastIndexByte(s, ':'); i > 0 {
			s = s[:i]
		}
		return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}}}
}

// hashKey: the whole address, lower-cased; it never raises.
func (exactKind) hashKey(v *view) (string, bool, tri) { return lowerKey(v), false, isMatch }

func (exactKind) keyNoun() string { return "address" }

// lowerKey is the lower-cased address of v, kept in the view so that
// later exact matchers and indexes do not lower it again.
func lowerKey(v *view) string {
	if !v.laDone {
		v.laddr, v.laDone = addr.Lower(v.addr), true
	}
	return v.laddr
}

func (exactKind) literalKind() LiteralKind { return LitAddr }

func (exactKind) splits() bool { return false }
