package dsl

import (
	"fmt"
	"sync/atomic"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// tri is a matcher result: libruleset matchers return true or false, or
// raise (ERROR).
type tri uint8

const (
	noMatch tri = iota
	isMatch
	errMatch
)

// view is the request as matchers see it, with the derived forms computed
// at most once. It lives on the stack of one decision.
type view struct {
	addr   string
	fam    family
	ip4    uint32
	ip6    [2]uint64
	ipOK   bool
	split  uint8 // 0 not yet, 1 ok, 2 error
	host   string
	port   string
	lhost  string
	lhDone bool
	dhost  string
	dhDone bool
	laddr  string // lower-cased addr (segment index)
	laDone bool
	err    error
}

func (v *view) doSplit() bool {
	if v.split == 0 {
		h, p, err := addr.Split(v.addr)
		if err != nil {
			v.split, v.err = 2, err
			return false
		}
		v.split, v.host, v.port = 1, h, p
	}
	return v.split == 1
}

func (v *view) lowerHost() string {
	if !v.lhDone {
		v.lhost, v.lhDone = addr.Lower(v.host), true
	}
	return v.lhost
}

// domainHost is the lower-cased host without empty labels.
func (v *view) domainHost() string {
	if !v.dhDone {
		h := v.lowerHost()
		clean := len(h) > 0 && h[0] != '.' && h[len(h)-1] != '.'
		for i := 1; clean && i < len(h); i++ {
			if h[i] == '.' && h[i-1] == '.' {
				clean = false
			}
		}
		if !clean {
			b := make([]byte, 0, len(h))
			for i := 0; i < len(h); i++ {
				if h[i] == '.' && (len(b) == 0 || b[len(b)-1] == '.') {
					continue
				}
				b = append(b, h[i])
			}
			if len(b) > 0 && b[len(b)-1] == '.' {
				b = b[:len(b)-1]
			}
			h = string(b)
		}
		v.dhost, v.dhDone = h, true
	}
	return v.dhost
}

// matcher is the closed set of compiled matchers below.
type matcher interface {
	match(v *view) tri
}

// why describes, for traces, which entry of a leaf matcher matched.
type explainer interface {
	why(v *view) string
}

type anyM struct{}

func (anyM) match(*view) tri { return isMatch }

// firstHit tries each of xs on the address in turn and returns the index
// of the first that matches; an error ends the search and is kept in v.
func firstHit[T any](v *view, xs []T, test func(T, string) (bool, error)) (int, tri) {
	for i, x := range xs {
		ok, err := test(x, v.addr)
		if err != nil {
			v.err = err
			return i, errMatch
		}
		if ok {
			return i, isMatch
		}
	}
	return 0, noMatch
}

// whyHit explains a hit of firstHit: the kind of matcher, the source text
// of entry i and where it was written; "" when t is not a match.
func whyHit(kind string, src []string, org *Origin, i int, t tri) string {
	if t != isMatch {
		return ""
	}
	return fmt.Sprintf("%s %q (%s)", kind, src[i], posString(org.pos(i)))
}

// setVal is the content of a dynamic set slot.
type setVal struct {
	str    matcher
	v4, v6 matcher
}

func (s *setVal) get(f family) matcher {
	switch f {
	case fam4:
		return s.v4
	case fam6:
		return s.v6
	}
	return s.str
}

type slotM struct {
	slot *atomic.Pointer[setVal]
	fam  family
}

func (s *slotM) match(v *view) tri {
	sv := s.slot.Load()
	if sv == nil {
		return noMatch
	}
	m := sv.get(s.fam)
	if m == nil {
		return noMatch
	}
	return m.match(v)
}

type notM struct{ x matcher }

func (n *notM) match(v *view) tri {
	switch n.x.match(v) {
	case isMatch:
		return noMatch
	case noMatch:
		return isMatch
	}
	return errMatch
}

type allM struct{ xs []matcher }

func (a *allM) match(v *view) tri {
	for _, x := range a.xs {
		if t := x.match(v); t != isMatch {
			return t
		}
	}
	return isMatch
}

type anyOfM struct{ xs []matcher }

func (a *anyOfM) match(v *view) tri {
	for _, x := range a.xs {
		if t := x.match(v); t != noMatch {
			return t
		}
	}
	return noMatch
}

// buildMatcher compiles an L-IR matcher. Static sets are compiled once and
// shared through memo.
func (b *builder) matcher(m MatchIR) (matcher, error) {
	switch m := m.(type) {
	case MAny:
		return anyM{}, nil
	case leafIR:
		return m.build(b)
	case *MSet:
		if m.Set.Dynamic() {
			return &slotM{slot: &b.t.slots[m.Set.Slot], fam: m.Fam}, nil
		}
		return b.setMatcher(m.Set, m.Fam)
	case *MNot:
		x, err := b.matcher(m.X)
		if err != nil {
			return nil, err
		}
		return &notM{x}, nil
	case *MAll:
		xs, err := b.matchers(m.Xs)
		return &allM{xs}, err
	case *MAnyOf:
		xs, err := b.matchers(m.Xs)
		return &anyOfM{xs}, err
	}
	return nil, fmt.Errorf("dsl: unknown matcher %T", m)
}

func (b *builder) matchers(ms []MatchIR) ([]matcher, error) {
	xs := make([]matcher, 0, len(ms))
	for _, m := range ms {
		x, err := b.matcher(m)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, nil
}

type setKey struct {
	s *SetIR
	f family
}

func (b *builder) setMatcher(s *SetIR, f family) (matcher, error) {
	if m, ok := b.sets[setKey{s, f}]; ok {
		return m, nil
	}
	var m matcher
	var err error
	switch s.Kind {
	case SetCIDR:
		if f == fam6 {
			m = newCIDR6(s.V6)
		} else {
			m = newCIDR4(s.V4)
		}
	case SetList:
		var xs []matcher
		for _, ms := range s.List {
			x, e := b.strMatcher(ms)
			if e != nil {
				return nil, e
			}
			xs = append(xs, x)
		}
		m = &anyOfM{xs}
	default:
		m, err = b.strMatcher(s.Str)
	}
	if err != nil {
		return nil, err
	}
	b.sets[setKey{s, f}] = m
	return m, nil
}
