package dsl

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// regexKind is `regex "ERE", ...`: match.regex, a POSIX extended regular
// expression searched for in the address.
type regexKind struct {
	sameVals
	noSwaps
	decidesNoHost
}

func (regexKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	return checkStr(KRegex, c, u, fam, ctx)
}

func (regexKind) value(c *checker, v string, pos lexer.Position) (string, bool) {
	if _, err := compileRegex(v); err != nil {
		c.d.errorf(pos, "invalid regex %q: %v", v, err)
		return "", false
	}
	if strings.HasSuffix(v, "$") && !strings.Contains(v, ":") {
		c.d.warnf(pos, "regex ends in `$` but sees \"host:port\"; add `(:[0-9]+)?` or match the port")
	}
	return v, true
}

func (regexKind) compile(m *MStr) (matcher, error) {
	r := &regexM{src: m.Vals, org: m.Org}
	for _, s := range m.Vals {
		re, err := compileRegex(s)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", s, err)
		}
		r.res = append(r.res, re)
	}
	return r, nil
}

func (regexKind) mutateValue(m *mutator, v *value, _ string) {
	if v.Str != nil && v.Str.Env == nil {
		m.strEdit(v.Str, "regex", regexMutations)
	}
}

type regexM struct {
	src []string
	res []*regexMatcher
	org *Origin
}

func (r *regexM) find(v *view) (int, tri) { return firstHit(v, r.res, (*regexMatcher).match) }

func (r *regexM) match(v *view) tri { _, t := r.find(v); return t }

func (r *regexM) why(v *view) string {
	i, t := r.find(v)
	return whyHit("regex", r.src, r.org, i, t)
}

// regexMutations drops a leading ^ or trailing $ and changes each
// unescaped quantifier outside brackets (+ to * and dropped, * to +,
// ? dropped).
func regexMutations(s string) []string {
	return quantifierMutations(s, '\\', "+*?")
}

func (regexKind) literalKind() LiteralKind { return LitRegex }

func (regexKind) splits() bool { return false }
