package dsl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/addr"
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi int }

// MPort is match.port (several ranges: composite.anyof of them).
type MPort struct{ Ranges []PortRange }

func (*MPort) mir() {}

// portKind is `port N, LO-HI, ...`: match.port, several ranges as
// composite.anyof of them; allowed where rules see "host:port" strings.
type portKind struct{ noSwaps }

func (portKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	if !c.onlyStrings(u, fam, ctx) {
		return nil
	}
	m := &MPort{}
	ok := c.eachValue(u, func(s string, v *value) bool {
		r, good := c.port(s, v.Pos)
		if good {
			m.Ranges = append(m.Ranges, r)
		}
		return good
	})
	if !ok {
		return nil
	}
	return m
}

func (portKind) mutateValue(m *mutator, v *value, old string) {
	n := len(old)
	for _, alt := range portEdges(old) {
		m.add(v.Pos, "port", fmt.Sprintf("port %s -> %s", old, alt), edit{v.Pos.Offset, v.Pos.Offset + n, alt})
	}
}

func (c *checker) port(v string, pos lexer.Position) (PortRange, bool) {
	lo, hi, isRange := strings.Cut(v, "-")
	if !isRange {
		hi = lo
	}
	a, ok1 := addr.ParsePort(lo)
	b, ok2 := addr.ParsePort(hi)
	if !ok1 || !ok2 || lo == "" || hi == "" || a > b {
		c.d.errorf(pos, "invalid port %q: write a port 0..65535 or a range lo-hi", v)
		return PortRange{}, false
	}
	return PortRange{int(a), int(b)}, true
}

func (m *MPort) build(*builder) (matcher, error) { return &portM{r: m.Ranges}, nil }

func (m *MPort) lua(*emitter) string {
	var xs []string
	for _, r := range m.Ranges {
		if r.Lo == r.Hi {
			xs = append(xs, fmt.Sprintf("match.port(%d)", r.Lo))
		} else {
			xs = append(xs, fmt.Sprintf("match.port(%d, %d)", r.Lo, r.Hi))
		}
	}
	if len(xs) == 1 {
		return xs[0]
	}
	return "composite.anyof({ " + strings.Join(xs, ", ") + " })"
}

func (*MPort) decidesHost(string) bool { return false }

type portM struct{ r []PortRange }

func (p *portM) match(v *view) tri {
	if !v.doSplit() {
		return errMatch
	}
	n, ok := portNumber(v.port)
	if !ok {
		return noMatch
	}
	for _, r := range p.r {
		if float64(r.Lo) <= n && n <= float64(r.Hi) {
			return isMatch
		}
	}
	return noMatch
}

// portEdges returns a port or range with each bound moved by one, within
// 0..65535 and keeping lo <= hi.
func portEdges(v string) []string {
	lo, hi, isRange := strings.Cut(v, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !isRange {
		b, err2 = a, err1
	}
	if err1 != nil || err2 != nil {
		return nil
	}
	var out []string
	add := func(x, y int) {
		if x < 0 || y > 65535 || x > y {
			return
		}
		if x == y && !isRange {
			out = append(out, strconv.Itoa(x))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", x, y))
		}
	}
	if !isRange {
		add(a-1, a-1)
		add(a+1, a+1)
		return out
	}
	add(a-1, b)
	add(a+1, b)
	add(a, b-1)
	add(a, b+1)
	return out
}

func (a *MPort) covers(b MatchIR) bool {
	bp, ok := b.(*MPort)
	return ok && portsInside(bp, a)
}

func portsInside(b, a *MPort) bool {
	for _, q := range b.Ranges {
		if !slices.ContainsFunc(a.Ranges, func(r PortRange) bool { return r.Lo <= q.Lo && q.Hi <= r.Hi }) {
			return false
		}
	}
	return len(b.Ranges) > 0
}

// Literals: each range.
func (m *MPort) Literals() []Literal {
	out := make([]Literal, len(m.Ranges))
	for i, r := range m.Ranges {
		out[i] = Literal{Kind: LitPorts, Ports: r}
	}
	return out
}

func (*MPort) Splits() bool { return true }

var _ leafIR = (*MPort)(nil)
