package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/addr"
)

// StrKind is the kind of a string matcher.
type StrKind uint8

// String matcher kinds.
const (
	KExact StrKind = iota
	KHost
	KDomain
	KPattern
	KRegex
)

var strKindNames = [...]string{"exact", "host", "domain", "pattern", "regex"}

func (k StrKind) String() string { return strKindNames[k] }

// MStr is match.exact/host/domain/pattern/regex over a list of values
// (exact, host: lower-case; domain: lower-case canonical suffixes).
type MStr struct {
	Kind StrKind
	Vals []string
	Org  *Origin
}

func (*MStr) mir() {}

// strKind is a matcher kind over strings: its values are checked one by
// one into canonical form and the rule sees the whole "host:port".
type strKind interface {
	matcherKind
	// value validates one value and returns its canonical form.
	value(c *checker, v string, pos lexer.Position) (string, bool)
	// compile builds the Go matcher for the checked values of m.
	compile(m *MStr) (matcher, error)
	// luaVals returns the values as the Lua matcher receives them.
	luaVals(vals []string) []string
	// decidesHost reports whether one of vals surely matches every
	// request whose host is h, whatever the port.
	decidesHost(vals []string, h string) bool
	// literalKind says how a request is compared with each value.
	literalKind() LiteralKind
	// splits reports whether the kind splits the address first.
	splits() bool
}

// impl returns the registered implementation of kind k.
func (k StrKind) impl() strKind { return strKindImpls[k] }

// strKindImpls is matcherKinds' string kinds by StrKind, so that checking
// a 100 000-line list does not look the kind up per value. It is spelled
// out, not built from matcherKinds by the package's initializer, so that
// the package has none (a daemon without a route table runs none of its
// code); TestStrKindImpls checks that the two agree.
var strKindImpls = [len(strKindNames)]strKind{
	KExact:   exactKind{},
	KHost:    hostKind{},
	KDomain:  domainKind{},
	KPattern: patternKind{},
	KRegex:   regexKind{},
}

// checkStr is the check of every string kind.
func checkStr(k StrKind, c *checker, u *unary, fam family, ctx string) MatchIR {
	if !c.onlyStrings(u, fam, ctx) {
		return nil
	}
	m := &MStr{Kind: k, Org: &Origin{File: u.Pos.Filename}}
	ok := c.eachValue(u, func(s string, v *value) bool {
		cv, good := c.strValue(m.Kind, s, v.Pos)
		if good {
			m.Vals = append(m.Vals, cv)
			m.Org.add(v.Pos)
		}
		return good
	})
	if !ok {
		return nil
	}
	return m
}

// strValue validates one value of a string matcher and returns its
// canonical form.
func (c *checker) strValue(k StrKind, v string, pos lexer.Position) (string, bool) {
	return k.impl().value(c, v, pos)
}

func (m *MStr) build(b *builder) (matcher, error) { return b.strMatcher(m) }

func (b *builder) strMatcher(m *MStr) (matcher, error) { return m.Kind.impl().compile(m) }

func (m *MStr) lua(e *emitter) string { return e.str(m) }

func (e *emitter) str(m *MStr) string {
	return fmt.Sprintf("match.%s(%s)", m.Kind, e.list(m.Kind.impl().luaVals(m.Vals)))
}

func (m *MStr) decidesHost(h string) bool { return m.Kind.impl().decidesHost(m.Vals, h) }

// decidesNoHost is the default of a kind that surely decides no host.
type decidesNoHost struct{}

func (decidesNoHost) decidesHost([]string, string) bool { return false }

// sameVals is the Lua value list of a kind that prints its values as
// checked.
type sameVals struct{}

func (sameVals) luaVals(vals []string) []string { return vals }

// strSetKind compiles a kind matched by hash lookup (exact, host, domain);
// the kind implements hashKind.
type strSetKind struct{}

func (strSetKind) compile(m *MStr) (matcher, error) {
	return newStrSet(m, m.Kind.impl().(hashKind)), nil
}

// hashKind is a string kind matched by looking a key of the request up in
// the set of its values.
type hashKind interface {
	// hashKey returns the key v is looked up by; with walk, the suffixes
	// of the key after each '.' are looked up too, longest first. t is
	// errMatch when v has no key because it does not split, noMatch when
	// it has none otherwise.
	hashKey(v *view) (key string, walk bool, t tri)
	// keyNoun names a key in the trace of a hit.
	keyNoun() string
}

// strSet is a hash kind's matcher (value = entry index).
type strSet struct {
	hk  hashKind
	m   map[string]uint32
	org *Origin
}

func newStrSet(ms *MStr, hk hashKind) *strSet {
	s := &strSet{hk: hk, m: make(map[string]uint32, len(ms.Vals)), org: ms.Org}
	for i, v := range ms.Vals {
		if _, dup := s.m[v]; !dup {
			s.m[v] = uint32(i)
		}
	}
	return s
}

func (s *strSet) lookup(v *view) (uint32, string, tri) {
	k, walk, t := s.hk.hashKey(v)
	if t != isMatch {
		return 0, "", t
	}
	for j := 0; ; {
		if i, ok := s.m[k[j:]]; ok {
			return i, k[j:], isMatch
		}
		d := indexByteFrom(k, '.', j)
		if !walk || d < 0 {
			return 0, "", noMatch
		}
		j = d + 1
	}
}

func indexByteFrom(s string, c byte, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func (s *strSet) match(v *view) tri { _, _, t := s.lookup(v); return t }

func (s *strSet) why(v *view) string {
	i, k, t := s.lookup(v)
	if t != isMatch {
		return ""
	}
	return fmt.Sprintf("%s %q (%s)", s.hk.keyNoun(), k, posString(s.org.pos(int(i))))
}

// indexGroup: a run of rules of one hash kind shares one hash index.
func (s *strSet) indexGroup() indexGroup { return hashGroup{s.hk} }

// hashGroup is the index group of the rules of one hash kind.
type hashGroup struct{ hk hashKind }

func (g hashGroup) newIndex() runIndex { return &hashIndex{hk: g.hk, keys: map[string]int32{}} }

// hashIndex maps each value of a run to the first rule holding it.
type hashIndex struct {
	hk   hashKind
	keys map[string]int32
}

func (x *hashIndex) add(m matcher, off int32) {
	for key := range m.(*strSet).m {
		if _, ok := x.keys[key]; !ok {
			x.keys[key] = off
		}
	}
}

func (*hashIndex) seal() {}

// lookup: a shorter suffix may belong to an earlier rule, so every key is
// looked up and the smallest offset wins.
func (x *hashIndex) lookup(v *view) (int, tri) {
	k, walk, t := x.hk.hashKey(v)
	if t == errMatch {
		return 0, errMatch
	}
	best := int32(-1)
	for j := 0; t == isMatch; {
		if off, ok := x.keys[k[j:]]; ok && (best < 0 || off < best) {
			best = off
		}
		d := indexByteFrom(k, '.', j)
		if !walk || d < 0 {
			break
		}
		j = d + 1
	}
	if best < 0 {
		return -1, noMatch
	}
	return int(best), isMatch
}

func (a *MStr) covers(b MatchIR) bool {
	bs, ok := b.(*MStr)
	return ok && strInside(bs, a)
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

// Literals: each value, as its kind compares it.
func (m *MStr) Literals() []Literal {
	k := m.Kind.impl().literalKind()
	out := make([]Literal, len(m.Vals))
	for i, v := range m.Vals {
		out[i] = Literal{Kind: k, Value: v}
	}
	return out
}

func (m *MStr) Splits() bool { return m.Kind.impl().splits() }

var _ leafIR = (*MStr)(nil)
