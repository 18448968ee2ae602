package conformance

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/ere"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// Probes are requests built from the structure of a route table's rules:
// for every operand of an and/or/not rule, a pair of requests in which
// only that operand's value changes (MC/DC), the other operands held at
// one of their witnesses.

// part is what one witness fixes of a request: its host, its port, or
// the whole address (exact, regex and pattern witnesses).
type part struct {
	host, port string
	whole      string
	hasWhole   bool
}

// leafWitnesses are the parts that make one operand true (pos) and false
// (neg), a few of each.
type leafWitnesses struct {
	pos, neg []part
}

const maxLeafWitnesses = 4

func (l *leafWitnesses) add(pos bool, p part) {
	list := &l.neg
	if pos {
		list = &l.pos
	}
	if len(*list) < maxLeafWitnesses {
		*list = append(*list, p)
	}
}

// addWhole adds whole addresses: matches as true witnesses, near misses
// as false ones.
func (l *leafWitnesses) addWhole(matches, near []string) {
	for _, s := range matches {
		l.add(true, wholePart(s))
	}
	for _, s := range near {
		l.add(false, wholePart(s))
	}
}

// wholePart is a witness for the whole address; one that has a port is
// split so that other operands can change its host or port.
func wholePart(s string) part {
	if h, p, err := addr.Split(s); err == nil && h != "" && p != "" {
		return part{host: h, port: p}
	}
	return part{whole: s, hasWhole: true}
}

// witnessesOf returns the witnesses of a leaf matcher, or false for a
// composite.
func witnessesOf(m dsl.MatchIR) (leafWitnesses, bool) {
	var w leafWitnesses
	switch m := m.(type) {
	case dsl.MAny:
		w.add(true, part{})
	case dsl.Leaf:
		for _, x := range m.Literals() {
			literalWitnesses(&w, x)
		}
	case *dsl.MSet:
		for _, l := range m.Set.Leaves() {
			if m.Set.Kind != dsl.SetCIDR {
				for _, x := range l.Literals() {
					literalWitnesses(&w, x)
				}
				continue
			}
			// Each family of a cidr set brings its own few witnesses.
			cw, _ := witnessesOf(l)
			w.pos = append(w.pos, cw.pos...)
			w.neg = append(w.neg, cw.neg...)
		}
	default:
		return w, false
	}
	return w, true
}

func ipHost(a netip.Addr) string { return a.String() }

// literalWitnesses adds the parts that one literal of a matcher takes
// and some it just misses.
func literalWitnesses(w *leafWitnesses, x dsl.Literal) {
	v := x.Value
	switch x.Kind {
	case dsl.LitHost:
		w.add(true, part{host: v})
		w.add(false, part{host: "zz." + v})
		w.add(false, part{host: v + "."})
	case dsl.LitDomain:
		w.add(true, part{host: v})
		w.add(true, part{host: "zz." + v})
		if _, parent, ok := strings.Cut(v, "."); ok {
			w.add(false, part{host: parent})
		}
		w.add(false, part{host: "zz" + v})
	case dsl.LitAddr:
		w.add(true, wholePart(v))
		if h, p, err := addr.Split(v); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				w.add(false, part{host: h, port: strconv.Itoa(n + 1)})
			}
			w.add(false, part{host: h + ".", port: p})
		}
	case dsl.LitRegex:
		if ms, near, err := ere.Witnesses(ere.Compat(v), ere.Extended|ere.Newline); err == nil {
			w.addWhole(ms, near)
		}
	case dsl.LitPattern:
		w.addWhole(PatternWitnesses(v))
	case dsl.LitPorts:
		r := x.Ports
		w.add(true, part{port: strconv.Itoa(r.Lo)})
		w.add(true, part{port: strconv.Itoa(r.Hi)})
		if r.Lo > 0 {
			w.add(false, part{port: strconv.Itoa(r.Lo - 1)})
		}
		if r.Hi < 65535 {
			w.add(false, part{port: strconv.Itoa(r.Hi + 1)})
		}
	case dsl.LitPrefix:
		for i, a := range prefixEdges(x.Prefix) {
			w.add(i < 2, part{host: ipHost(a)})
		}
	}
}

// leaves lists the operands of m below its and/or/not nodes.
func leaves(m dsl.MatchIR) []dsl.MatchIR {
	switch m := m.(type) {
	case *dsl.MNot:
		return leaves(m.X)
	case *dsl.MAll:
		var out []dsl.MatchIR
		for _, x := range m.Xs {
			out = append(out, leaves(x)...)
		}
		return out
	case *dsl.MAnyOf:
		var out []dsl.MatchIR
		for _, x := range m.Xs {
			out = append(out, leaves(x)...)
		}
		return out
	}
	return []dsl.MatchIR{m}
}

// mcdcProbes returns, for a composite matcher m, the addresses of its
// MC/DC pairs: each witness of each operand with every other operand at
// its first true witness, and again at its first false one (an `and`
// needs the others true, an `or` false; `not` only flips).
func mcdcProbes(m dsl.MatchIR) []string {
	switch m.(type) {
	case *dsl.MNot, *dsl.MAll, *dsl.MAnyOf:
	default:
		return nil
	}
	ls := leaves(m)
	ws := make([]leafWitnesses, len(ls))
	for i, l := range ls {
		ws[i], _ = witnessesOf(l)
	}
	var out []string
	for i := range ls {
		for _, pos := range []bool{true, false} {
			others := make([]part, 0, len(ls))
			for j := range ls {
				if j == i {
					continue
				}
				list := ws[j].neg
				if pos {
					list = ws[j].pos
				}
				if len(list) > 0 {
					others = append(others, list[0])
				}
			}
			for _, w := range append(append([]part(nil), ws[i].pos...), ws[i].neg...) {
				out = append(out, merge(append(others, w)))
			}
		}
	}
	return out
}

// merge builds one address from parts, later parts winning; a whole
// address that cannot be split wins outright.
func merge(ps []part) string {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].hasWhole {
			return ps[i].whole
		}
	}
	host, port := "mcdc.invalid", "80"
	for _, p := range ps {
		if p.host != "" {
			host = p.host
		}
		if p.port != "" {
			port = p.port
		}
	}
	return addr.Join(host, port)
}

// maxOrderProbes bounds the adjacent rule pairs orderProbes looks at.
const maxOrderProbes = 300

// orderProbes returns, for adjacent rules of each string table and chain,
// an address both take (one matches, the other matches or fails on it):
// there their order decides. Pairs proven disjoint need none.
func orderProbes(p *dsl.Program) []string {
	chains := append([]*dsl.ChainIR(nil), p.Chains...)
	for k, t := range p.Tables {
		if t != nil && (dsl.TableKind(k) == dsl.TRedirectName || dsl.TableKind(k) == dsl.TRedirect || dsl.TableKind(k) == dsl.TRedirect6) {
			chains = append(chains, t)
		}
	}
	var out []string
	n := 0
	for _, ch := range chains {
		for i := 0; i+1 < len(ch.Rules) && n < maxOrderProbes; i++ {
			for _, a := range ruleMatchers(ch.Rules[i]) {
				for _, b := range ruleMatchers(ch.Rules[i+1]) {
					if a == nil || b == nil || n >= maxOrderProbes {
						continue
					}
					n++
					if w, ok := overlapWitness(a, b); ok {
						out = append(out, w)
					}
				}
			}
		}
	}
	return out
}
