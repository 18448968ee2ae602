package dsl

import (
	"container/heap"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/neosocksd-go/neosocksd/core/addr"
)

// MCIDR is inet.subnet / inet6.subnet.
type MCIDR struct {
	V6       bool
	Prefixes []netip.Prefix
	Org      *Origin
}

func (*MCIDR) mir() {}

// cidrKind is `cidr P, ...`: inet.subnet or inet6.subnet, allowed only in
// the route and route6 tables, whose rules see addresses.
type cidrKind struct{ noSwaps }

func (cidrKind) check(c *checker, u *unary, fam family, ctx string) MatchIR {
	if fam == famStr {
		c.d.errorf(u.Pos, "\"cidr\" is not allowed in %s: its rules see \"host:port\" strings; prefixes work in route/route6", ctx)
		return nil
	}
	m := &MCIDR{V6: fam == fam6, Org: &Origin{File: u.Pos.Filename}}
	ok := c.eachValue(u, func(s string, v *value) bool {
		p, good := c.prefix(s, v.Pos)
		if !good {
			return false
		}
		if p.Addr().Is6() != m.V6 {
			if m.V6 {
				c.d.errorf(v.Pos, "IPv4 prefix %s in %s: its rules see IPv6 addresses; put it in route", s, ctx)
			} else {
				c.d.errorf(v.Pos, "IPv6 prefix %s in %s: its rules see IPv4 addresses; put it in route6", s, ctx)
			}
			return false
		}
		m.Prefixes = append(m.Prefixes, p)
		m.Org.add(v.Pos)
		return true
	})
	if !ok {
		return nil
	}
	return m
}

func (cidrKind) mutateValue(m *mutator, v *value, old string) {
	n := len(old)
	for _, alt := range prefixNeighbours(old) {
		m.add(v.Pos, "cidr", fmt.Sprintf("cidr %s -> %s", old, alt), edit{v.Pos.Offset, v.Pos.Offset + n, alt})
	}
}

// prefix parses a CIDR value or a bare address.
func (c *checker) prefix(v string, pos lexer.Position) (netip.Prefix, bool) {
	ip, bits, hasBits := strings.Cut(v, "/")
	var a netip.Addr
	if w, ok := addr.ParseIPv4(ip); ok {
		a = netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)})
	} else if a6, ok := addr.ParseIPv6(ip); ok {
		a = a6
	} else {
		c.d.errorf(pos, "invalid CIDR %q: %q is not an IP address", v, ip)
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		x, err := strconv.Atoi(bits)
		if err != nil || x < 0 || x > a.BitLen() || (len(bits) > 1 && bits[0] == '0') {
			c.d.errorf(pos, "invalid CIDR %q: prefix length must be 0..%d", v, a.BitLen())
			return netip.Prefix{}, false
		}
		n = x
	}
	p := netip.PrefixFrom(a, n)
	if m := p.Masked(); m != p {
		c.d.errorf(pos, "invalid CIDR %q: host bits set; did you mean %s?", v, m)
		return netip.Prefix{}, false
	}
	return p, true
}

func (m *MCIDR) build(*builder) (matcher, error) {
	if m.V6 {
		return newCIDR6(m), nil
	}
	return newCIDR4(m), nil
}

func (m *MCIDR) lua(e *emitter) string { return e.cidr(m) }

func (*MCIDR) decidesHost(string) bool { return false }

type r4 struct{ lo, hi, org uint32 }

type cidr4M struct {
	r   []r4
	org *Origin
}

func newCIDR4(m *MCIDR) *cidr4M {
	c := &cidr4M{r: make([]r4, 0, len(m.Prefixes)), org: m.Org}
	for i, p := range m.Prefixes {
		b := p.Addr().As4()
		lo := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		hi := lo | uint32((uint64(1)<<(32-p.Bits()))-1)
		c.r = append(c.r, r4{lo, hi, uint32(i)})
	}
	sort.SliceStable(c.r, func(i, j int) bool { return c.r[i].lo < c.r[j].lo })
	// Merge into disjoint ranges; the earlier-starting entry keeps the origin.
	out := c.r[:0]
	for _, x := range c.r {
		if n := len(out); n > 0 && x.lo <= out[n-1].hi {
			if x.hi > out[n-1].hi {
				out[n-1].hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	c.r = out
	return c
}

func (c *cidr4M) find(v *view) (int, tri) {
	if !v.ipOK {
		return 0, errMatch
	}
	ip := v.ip4
	i := sort.Search(len(c.r), func(i int) bool { return c.r[i].hi >= ip })
	if i < len(c.r) && c.r[i].lo <= ip {
		return i, isMatch
	}
	return 0, noMatch
}

func (c *cidr4M) match(v *view) tri { _, t := c.find(v); return t }

func (c *cidr4M) why(v *view) string {
	i, t := c.find(v)
	if t != isMatch {
		return ""
	}
	return fmt.Sprintf("range %s-%s (%s)", addr.FormatIPv4(c.r[i].lo), addr.FormatIPv4(c.r[i].hi), posString(c.org.pos(int(c.r[i].org))))
}

type u128 [2]uint64

func less128(a, b u128) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

type r6 struct {
	lo, hi u128
	org    uint32
}

type cidr6M struct {
	r   []r6
	org *Origin
}

func ip6Words(a netip.Addr) u128 {
	b := a.As16()
	var w u128
	for i := 0; i < 8; i++ {
		w[0] = w[0]<<8 | uint64(b[i])
		w[1] = w[1]<<8 | uint64(b[8+i])
	}
	return w
}

func newCIDR6(m *MCIDR) *cidr6M {
	c := &cidr6M{r: make([]r6, 0, len(m.Prefixes)), org: m.Org}
	for i, p := range m.Prefixes {
		lo := ip6Words(p.Addr())
		hi := lo
		n := p.Bits()
		switch {
		case n == 0:
			hi = u128{^uint64(0), ^uint64(0)}
		case n <= 64:
			hi[0] |= (uint64(1) << (64 - n)) - 1
			hi[1] = ^uint64(0)
		case n < 128:
			hi[1] |= (uint64(1) << (128 - n)) - 1
		}
		c.r = append(c.r, r6{lo, hi, uint32(i)})
	}
	sort.SliceStable(c.r, func(i, j int) bool { return less128(c.r[i].lo, c.r[j].lo) })
	out := c.r[:0]
	for _, x := range c.r {
		if n := len(out); n > 0 && !less128(out[n-1].hi, x.lo) {
			if less128(out[n-1].hi, x.hi) {
				out[n-1].hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	c.r = out
	return c
}

func (c *cidr6M) find(v *view) (int, tri) {
	if !v.ipOK {
		return 0, errMatch
	}
	ip := u128(v.ip6)
	i := sort.Search(len(c.r), func(i int) bool { return !less128(c.r[i].hi, ip) })
	if i < len(c.r) && !less128(ip, c.r[i].lo) {
		return i, isMatch
	}
	return 0, noMatch
}

func (c *cidr6M) match(v *view) tri { _, t := c.find(v); return t }

func (c *cidr6M) why(v *view) string {
	i, t := c.find(v)
	if t != isMatch {
		return ""
	}
	return fmt.Sprintf("prefix entry (%s)", posString(c.org.pos(int(c.r[i].org))))
}

func (e *emitter) cidr(m *MCIDR) string {
	q := make([]string, len(m.Prefixes))
	for i, p := range m.Prefixes {
		q[i] = luaQuote(p.String())
	}
	fn := "inet.subnet"
	if m.V6 {
		fn = "inet6.subnet"
	}
	return fmt.Sprintf("%s({ %s })", fn, strings.Join(q, ", "))
}

// prefixNeighbours returns the prefix one bit shorter (as a network) and
// one bit longer; a bare address counts as a full-length prefix.
func prefixNeighbours(v string) []string {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	var out []string
	if p.Bits() > 0 {
		out = append(out, netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked().String())
	}
	if p.Bits() < p.Addr().BitLen() {
		out = append(out, netip.PrefixFrom(p.Addr(), p.Bits()+1).String())
	}
	return out
}

func (a *MCIDR) covers(b MatchIR) bool {
	bc, ok := b.(*MCIDR)
	return ok && bc.V6 == a.V6 && cidrInside(bc, a)
}

func cidrInside(b, a *MCIDR) bool {
	for _, q := range b.Prefixes {
		if !slices.ContainsFunc(a.Prefixes, func(p netip.Prefix) bool { return p.Bits() <= q.Bits() && p.Contains(q.Addr()) }) {
			return false
		}
	}
	return len(b.Prefixes) > 0
}

// indexGroup: a run of cidr rules of one family shares one interval index.
func (*cidr4M) indexGroup() indexGroup { return cidrGroup{v6: false} }

func (*cidr6M) indexGroup() indexGroup { return cidrGroup{v6: true} }

// cidrGroup is the index group of the cidr rules of one family.
type cidrGroup struct{ v6 bool }

func (g cidrGroup) newIndex() runIndex { return &cidrIndex{v6: g.v6} }

// cidrIndex holds disjoint sorted intervals, each labelled with the first
// rule of the run covering it.
type cidrIndex struct {
	v6    bool
	ivals []ival
}

func (x *cidrIndex) add(m matcher, off int32) {
	switch m := m.(type) {
	case *cidr4M:
		for _, r := range m.r {
			x.ivals = append(x.ivals, ival{u128{0, uint64(r.lo)}, u128{0, uint64(r.hi)}, off})
		}
	case *cidr6M:
		for _, r := range m.r {
			x.ivals = append(x.ivals, ival{r.lo, r.hi, off})
		}
	}
}

func (x *cidrIndex) seal() { x.ivals = firstWriter(x.ivals) }

func (x *cidrIndex) lookup(v *view) (int, tri) {
	if !v.ipOK {
		return 0, errMatch
	}
	ip := u128(v.ip6)
	if !x.v6 {
		ip = u128{0, uint64(v.ip4)}
	}
	i := sort.Search(len(x.ivals), func(i int) bool { return !less128(x.ivals[i].hi, ip) })
	if i < len(x.ivals) && !less128(ip, x.ivals[i].lo) {
		return int(x.ivals[i].rule), isMatch
	}
	return -1, noMatch
}

// ival is an interval of addresses (IPv4 in the low word) and the offset
// of the first rule of the run that covers it.
type ival struct {
	lo, hi u128
	rule   int32
}

// firstWriter flattens overlapping intervals into disjoint ones, each
// labelled with the smallest rule offset covering it (a sweep over the
// interval ends with a min-heap of the active rules).
func firstWriter(in []ival) []ival {
	type ev struct {
		at   u128
		end  bool // the interval ended just before at
		rule int32
		inf  bool // end beyond the address space
	}
	evs := make([]ev, 0, 2*len(in))
	for _, x := range in {
		evs = append(evs, ev{at: x.lo, rule: x.rule})
		nx, over := add1(x.hi)
		evs = append(evs, ev{at: nx, end: true, rule: x.rule, inf: over})
	}
	sort.Slice(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.inf != b.inf {
			return !a.inf
		}
		return less128(a.at, b.at)
	})
	active := map[int32]int{}
	h := &ruleHeap{}
	var out []ival
	top := func() int32 {
		for h.Len() > 0 && active[(*h)[0]] == 0 {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			return -1
		}
		return (*h)[0]
	}
	for i := 0; i < len(evs); {
		at, inf := evs[i].at, evs[i].inf
		if inf {
			break
		}
		for i < len(evs) && !evs[i].inf && evs[i].at == at {
			if evs[i].end {
				active[evs[i].rule]--
			} else {
				if active[evs[i].rule] == 0 {
					heap.Push(h, evs[i].rule)
				}
				active[evs[i].rule]++
			}
			i++
		}
		r := top()
		if r < 0 {
			continue
		}
		// The label holds from at up to the next event (exclusive).
		hi := u128{^uint64(0), ^uint64(0)}
		if i < len(evs) && !evs[i].inf {
			hi = sub1(evs[i].at)
		}
		if n := len(out); n > 0 && out[n-1].rule == r {
			if nx, over := add1(out[n-1].hi); !over && nx == at {
				out[n-1].hi = hi
				continue
			}
		}
		out = append(out, ival{at, hi, r})
	}
	return out
}

func add1(a u128) (u128, bool) {
	a[1]++
	if a[1] == 0 {
		a[0]++
		if a[0] == 0 {
			return a, true
		}
	}
	return a, false
}

func sub1(a u128) u128 {
	if a[1] == 0 {
		a[0]--
	}
	a[1]--
	return a
}

type ruleHeap []int32

func (h ruleHeap) Len() int           { return len(h) }
func (h ruleHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h ruleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ruleHeap) Push(x any)        { *h = append(*h, x.(int32)) }
func (h *ruleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Literals: each prefix.
func (m *MCIDR) Literals() []Literal {
	out := make([]Literal, len(m.Prefixes))
	for i, p := range m.Prefixes {
		out[i] = Literal{Kind: LitPrefix, Prefix: p}
	}
	return out
}

// Splits: the route tables' rules see addresses, never split.
func (*MCIDR) Splits() bool { return false }

var _ leafIR = (*MCIDR)(nil)
