package dsl

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Tables, chains, rules and their matcher expressions.

func (c *checker) table(d *decl) {
	t := d.Table
	var kind TableKind
	for i, n := range tableNames {
		if n == t.Name {
			kind = TableKind(i)
		}
	}
	if !c.onlyOnce(t.Name, d.Pos) {
		return
	}
	ch := &ChainIR{Name: t.Name, Pos: d.Pos, Fam: kind.family()}
	ch.Rules = c.rules(t.Rules, ch.Fam, t.Name)
	c.p.Tables[kind] = ch
}

func (c *checker) chain(st *chainState, fam family, ctx string) *ChainIR {
	switch st.state {
	case 1:
		c.d.errorf(st.decl.Name.Pos, "call cycle: %s -> %s", strings.Join(c.stack, " -> "), st.decl.Name.Name)
		return nil
	case 2:
		if st.fam != fam {
			c.d.errorf(st.decl.Name.Pos, "chain %s is called from %s and from %s, whose rules see different inputs", st.decl.Name.Name, st.ctx, ctx)
			return nil
		}
		return st.ir
	}
	st.state, st.fam, st.ctx = 1, fam, ctx
	c.stack = append(c.stack, st.decl.Name.Name)
	ir := &ChainIR{Name: st.decl.Name.Name, Pos: st.decl.Name.Pos, Fam: fam}
	st.ir = ir
	ir.Rules = c.rules(st.decl.Rules, fam, "chain "+st.decl.Name.Name+" (used in "+ctx+")")
	c.stack = c.stack[:len(c.stack)-1]
	st.state = 2
	c.p.Chains = append(c.p.Chains, ir)
	return ir
}

func (c *checker) rules(rs []*rule, fam family, ctx string) []*RuleIR {
	var out []*RuleIR
	for _, r := range rs {
		if r.Call != nil {
			st := c.chains[r.Call.Name]
			if st == nil {
				msg := fmt.Sprintf("unknown chain %q", r.Call.Name)
				if s := suggest(r.Call.Name, keysOf(c.chains)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				c.d.errorf(r.Call.Pos, "%s", msg)
				continue
			}
			if len(c.stack) == 0 {
				c.stack = append(c.stack, strings.Fields(ctx)[0])
				ch := c.chain(st, fam, ctx)
				c.stack = c.stack[:0]
				if ch != nil {
					out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: "call " + r.Call.Name, Call: ch}))
				}
				continue
			}
			if ch := c.chain(st, fam, ctx); ch != nil {
				out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: "call " + r.Call.Name, Call: ch}))
			}
			continue
		}
		m := c.expr(r.Expr, fam, ctx)
		a := c.action(r.Action)
		tag, ok := c.tag(r.Tag)
		if m == nil || a == nil || !ok {
			continue
		}
		out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: c.text(r.Expr.Pos, r.Expr.EndPos), M: m, A: a, Tag: tag}))
	}
	return out
}

func (c *checker) newRule(r *RuleIR) *RuleIR {
	r.ID = len(c.p.Rules)
	c.p.Rules = append(c.p.Rules, r)
	return r
}

func (c *checker) tag(v *value) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := c.value(v)
	if ok && s == "" {
		c.d.errorf(v.Pos, "empty tag")
		return "", false
	}
	return s, ok
}

// text returns the source between two positions with runs of blanks
// folded, for traces.
func (c *checker) text(from, to lexer.Position) string {
	src := c.d.src[from.Filename]
	if src == nil || from.Offset < 0 || to.Offset > len(src) || from.Offset > to.Offset {
		return ""
	}
	s := string(src[from.Offset:to.Offset])
	// Drop comments, fold blanks.
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 && !strings.ContainsAny(line[:i], "\"`") {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte(' ')
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func famName(f family) string {
	switch f {
	case fam4:
		return "IPv4 addresses"
	case fam6:
		return "IPv6 addresses"
	}
	return `"host:port" strings`
}

func (c *checker) expr(e *expr, fam family, ctx string) MatchIR {
	return combine(e.Or, func(cj *conj) MatchIR { return c.conj(cj, fam, ctx) },
		func(m MatchIR) ([]MatchIR, bool) {
			a, ok := m.(*MAnyOf)
			if !ok {
				return nil, false
			}
			return a.Xs, true
		},
		func(xs []MatchIR) MatchIR { return &MAnyOf{Xs: xs} })
}

func (c *checker) conj(cj *conj, fam family, ctx string) MatchIR {
	return combine(cj.And, func(u *unary) MatchIR { return c.unary(u, fam, ctx) },
		func(m MatchIR) ([]MatchIR, bool) {
			a, ok := m.(*MAll)
			if !ok {
				return nil, false
			}
			return a.Xs, true
		},
		func(xs []MatchIR) MatchIR { return &MAll{Xs: xs} })
}

// combine checks every operand of an "or" or an "and" with check (all of
// them, so that each reports its faults) and returns nil if any failed.
// Operands that are already of the combined kind, as flat tells, are
// spliced in; a single operand stands alone, more are joined by wrap.
func combine[T any](ops []T, check func(T) MatchIR, flat func(MatchIR) ([]MatchIR, bool), wrap func([]MatchIR) MatchIR) MatchIR {
	var xs []MatchIR
	ok := true
	for _, op := range ops {
		m := check(op)
		if m == nil {
			ok = false
			continue
		}
		if inner, same := flat(m); same {
			xs = append(xs, inner...)
		} else {
			xs = append(xs, m)
		}
	}
	if !ok {
		return nil
	}
	if len(xs) == 1 {
		return xs[0]
	}
	return wrap(xs)
}

func (c *checker) unary(u *unary, fam family, ctx string) MatchIR {
	switch {
	case u.Not != nil:
		x := c.unary(u.Not, fam, ctx)
		if x == nil {
			return nil
		}
		return &MNot{X: x}
	case u.Paren != nil:
		return c.expr(u.Paren, fam, ctx)
	case u.Any:
		return MAny{}
	case u.In != nil:
		set := c.sets[u.In.Name]
		if set == nil {
			msg := fmt.Sprintf("unknown set %q", u.In.Name)
			if s := suggest(u.In.Name, keysOf(c.sets)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			c.d.errorf(u.In.Pos, "%s", msg)
			return nil
		}
		if (set.Kind == SetCIDR) != (fam != famStr) {
			c.d.errorf(u.In.Pos, "set %s (%s) is not allowed in %s: its rules see %s", set.Name, set.Kind, ctx, famName(fam))
			return nil
		}
		set.used[fam] = true
		return &MSet{Set: set, Fam: fam}
	}
	return u.Kind.kind().check(c, u, fam, ctx) // the grammar admits only registered kinds
}
