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
}

// impl returns the registered implementation of kind k.
func (k StrKind) impl() strKind { return strKindImpls[k] }

// strKindImpls is matcherKinds' string kinds by StrKind, so that checking
// a 100 000-line list does not hash the kind name per value.
var strKindImpls = func() (impls [len(strKindNames)]strKind) {
	for k := range impls {
		impls[k] = kindsByWord[StrKind(k).String()].(strKind)
	}
	return impls
}()

// checkStr is the check of every string kind.
func checkStr(k StrKind, c *checker, u *Unary, fam family, ctx string) MatchIR {
	if !c.onlyStrings(u, fam, ctx) {
		return nil
	}
	m := &MStr{Kind: k, Org: &Origin{File: u.Pos.Filename}}
	ok := c.eachValue(u, func(s string, v *Value) bool {
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

// strSetKind compiles a kind matched by hash lookup (exact, host, domain).
type strSetKind struct{}

func (strSetKind) compile(m *MStr) (matcher, error) { return newStrSet(m), nil }

// strSet is exact, host or domain over a hash set (value = entry index).
type strSet struct {
	kind StrKind
	m    map[string]uint32
	org  *Origin
}

func newStrSet(ms *MStr) *strSet {
	s := &strSet{kind: ms.Kind, m: make(map[string]uint32, len(ms.Vals)), org: ms.Org}
	for i, v := range ms.Vals {
		if _, dup := s.m[v]; !dup {
			s.m[v] = uint32(i)
		}
	}
	return s
}

func (s *strSet) lookup(v *view) (uint32, string, tri) {
	switch s.kind {
	case KExact:
		k := lowerKey(v)
		i, ok := s.m[k]
		return i, k, b2t(ok)
	case KHost:
		if !v.doSplit() {
			return 0, "", errMatch
		}
		k := v.lowerHost()
		i, ok := s.m[k]
		return i, k, b2t(ok)
	}
	if !v.doSplit() {
		return 0, "", errMatch
	}
	h := v.domainHost()
	if h == "" {
		return 0, "", noMatch
	}
	for j := 0; ; {
		if i, ok := s.m[h[j:]]; ok {
			return i, h[j:], isMatch
		}
		k := indexByteFrom(h, '.', j)
		if k < 0 {
			return 0, "", noMatch
		}
		j = k + 1
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
	what := map[StrKind]string{KExact: "address", KHost: "host", KDomain: "suffix"}[s.kind]
	return fmt.Sprintf("%s %q (%s)", what, k, posString(s.org.pos(int(i))))
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
