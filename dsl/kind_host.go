package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/addr"
)

// hostKind is `host name, ...`: match.host, the host of the address
// compared case-insensitively, any port.
type hostKind struct {
	strSetKind
	sameVals
	noValueMutants
}

func (hostKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	return checkStr(KHost, c, u, fam, ctx)
}

func (hostKind) value(c *checker, v string, pos lexer.Position) (string, bool) {
	if c.nonASCII("host", v, pos) {
		return "", false
	}
	if strings.Contains(v, ":") {
		if _, ok := addr.ParseIPv6(v); !ok {
			c.d.errorf(pos, "host %q contains ':'; a host has no port (use `exact %s`)", v, v)
			return "", false
		}
	}
	if v == "" {
		c.d.errorf(pos, "empty host")
		return "", false
	}
	return addr.Lower(v), true
}

// swaps: host becomes domain, and exact with port 443.
func (hostKind) swaps() []kindSwap {
	return []kindSwap{
		{"domain", func(s string) string { return s }},
		{"exact", func(s string) string {
			if strings.Contains(s, ":") {
				return "[" + s + "]:443"
			}
			return s + ":443"
		}},
	}
}

func (hostKind) decidesHost(vals []string, h string) bool {
	for _, v := range vals {
		if v == h {
			return true
		}
	}
	return false
}

// hashKey: the lower-cased host.
func (hostKind) hashKey(v *view) (string, bool, tri) {
	if !v.doSplit() {
		return "", false, errMatch
	}
	return v.lowerHost(), false, isMatch
}

func (hostKind) keyNoun() string { return "host" }

func (hostKind) literalKind() LiteralKind { return LitHost }

func (hostKind) splits() bool { return true }
