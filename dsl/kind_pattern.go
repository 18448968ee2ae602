package dsl

import "github.com/alecthomas/participle/v2/lexer"

// patternKind is `pattern "lua pattern", ...`: match.pattern, a Lua
// pattern searched for in the address.
type patternKind struct {
	sameVals
	noSwaps
	decidesNoHost
}

func (patternKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	return checkStr(KPattern, c, u, fam, ctx)
}

func (patternKind) value(c *checker, v string, pos lexer.Position) (string, bool) {
	if err := checkPattern(v); err != nil {
		c.d.errorf(pos, "invalid Lua pattern %q: %s", v, patternReason(v, err))
		return "", false
	}
	return v, true
}

func (patternKind) compile(m *MStr) (matcher, error) {
	return &patternM{pats: m.Vals, org: m.Org}, nil
}

func (patternKind) mutateValue(m *mutator, v *value, _ string) {
	if v.Str != nil && v.Str.Env == nil {
		m.strEdit(v.Str, "pattern", patternMutations)
	}
}

type patternM struct {
	pats []string
	org  *Origin
}

func (p *patternM) find(v *view) (int, tri) { return firstHit(v, p.pats, patFind) }

func (p *patternM) match(v *view) tri { _, t := p.find(v); return t }

func (p *patternM) why(v *view) string {
	i, t := p.find(v)
	return whyHit("pattern", p.pats, p.org, i, t)
}

// patternMutations does the same for a Lua pattern (escape %, quantifiers
// + * - ?).
func patternMutations(s string) []string {
	return quantifierMutations(s, '%', "+*-?")
}

func (patternKind) literalKind() LiteralKind { return LitPattern }

func (patternKind) splits() bool { return false }
