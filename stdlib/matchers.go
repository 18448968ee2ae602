package stdlib

import (
	"encoding/binary"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// listArg returns argument n as a list of strings: a string (or number) is
// a list of one, a table gives its items 1..k up to the first nil.
func listArg(L *lua.LState, n int) []string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return []string{string(v)}
	case lua.LNumber:
		return []string{v.String()}
	case *lua.LTable:
		var out []string
		for i := 1; ; i++ {
			switch e := v.RawGetInt(i).(type) {
			case *lua.LNilType:
				return out
			case lua.LString:
				out = append(out, string(e))
			case lua.LNumber:
				out = append(out, e.String())
			default:
				L.ArgError(n, "list item #"+lua.LNumber(i).String()+" is not a string")
			}
		}
	}
	L.TypeError(n, lua.LTTable)
	return nil
}

// newExactMatcher: matcher(addr) is true when lower(addr) is one of the
// lower-cased entries. Entries must split as "host:port"; addr is never
// split, so the matcher never raises.
func newExactMatcher(L *lua.LState) int {
	list := listArg(L, 1)
	set := make(map[string]struct{}, len(list))
	for _, s := range list {
		if _, _, err := addr.Split(s); err != nil {
			L.RaiseError("%s", err.Error())
		}
		set[addr.Lower(s)] = struct{}{}
	}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		s, ok := optString(L, 1)
		if !ok {
			L.Push(lua.LFalse)
			return 1
		}
		_, hit := set[addr.Lower(s)]
		L.Push(lua.LBool(hit))
		return 1
	}))
	return 1
}

// newHostMatcher: matcher(addr) is true when lower(host of addr) is one of
// the lower-cased entries; an unsplittable addr raises.
func newHostMatcher(L *lua.LState) int {
	list := listArg(L, 1)
	set := make(map[string]struct{}, len(list))
	for _, s := range list {
		set[addr.Lower(s)] = struct{}{}
	}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		h, _ := checkSplit(L, 1)
		_, hit := set[addr.Lower(h)]
		L.Push(lua.LBool(hit))
		return 1
	}))
	return 1
}

// canonicalDomain lower-cases s and drops its empty labels:
// "..Example.COM." -> "example.com".
func canonicalDomain(s string) string {
	s = addr.Lower(s)
	if !hasEmptyLabel(s) {
		return s
	}
	var b strings.Builder
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	return b.String()
}

func hasEmptyLabel(s string) bool {
	return s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")
}

// DomainSet is the index behind match.domain{...}: a set of canonical
// domains (lower case, no empty labels). A host matches when one of its
// whole-label suffixes, after the same canonicalisation, is in the set.
type DomainSet map[string]struct{}

// NewDomainSet indexes list; entries with no label at all are ignored.
func NewDomainSet(list []string) DomainSet {
	d := make(DomainSet, len(list))
	for _, s := range list {
		if c := canonicalDomain(s); c != "" {
			d[c] = struct{}{}
		}
	}
	return d
}

// Match reports whether host or one of its parent domains is in d.
func (d DomainSet) Match(host string) bool {
	h := canonicalDomain(host)
	for h != "" {
		if _, ok := d[h]; ok {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
	return false
}

// newDomainMatcher: the table form of match.domain.
func newDomainMatcher(L *lua.LState) int {
	d := NewDomainSet(listArg(L, 1))
	L.Push(L.NewFunction(func(L *lua.LState) int {
		h, _ := checkSplit(L, 1)
		L.Push(lua.LBool(d.Match(h)))
		return 1
	}))
	return 1
}

// newDomain1Matcher: the string form of match.domain; s with one leading
// dot removed matches the host itself or any name ending in "."..s.
func newDomain1Matcher(L *lua.LState) int {
	s := addr.Lower(L.CheckString(1))
	s = strings.TrimPrefix(s, ".")
	dot := "." + s
	L.Push(L.NewFunction(func(L *lua.LState) int {
		h, _ := checkSplit(L, 1)
		h = addr.Lower(h)
		L.Push(lua.LBool(h == s || strings.HasSuffix(h, dot)))
		return 1
	}))
	return 1
}

// splitCIDR cuts "a/n" into address and prefix length; a missing "/n"
// means the full length max. ok is false for a malformed length.
func splitCIDR(s string, max int) (ip string, bits int, ok bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, max, true
	}
	p := s[i+1:]
	if p == "" || len(p) > 3 {
		return "", 0, false
	}
	for j := 0; j < len(p); j++ {
		if p[j] < '0' || p[j] > '9' {
			return "", 0, false
		}
		bits = bits*10 + int(p[j]-'0')
	}
	return s[:i], bits, bits <= max
}

// ParseCIDR parses an IPv4 prefix "a.b.c.d/n" (a bare address is /32) into
// the network address in host order and the prefix length. bad is
// "prefix size" or "subnet" when s is invalid (host bits set count as an
// invalid subnet).
func ParseCIDR(s string) (ip uint32, bits int, bad string) {
	a, bits, ok := splitCIDR(s, 32)
	if !ok {
		return 0, 0, "prefix size"
	}
	ip, ok = addr.ParseIPv4(a)
	if !ok || bits < 32 && ip<<uint(bits) != 0 {
		return 0, 0, "subnet"
	}
	return ip, bits, ""
}

// ParseCIDR6 is ParseCIDR for IPv6 ("x::/n", bare address = /128); the
// address is returned as (high, low) 64-bit halves.
func ParseCIDR6(s string) (hi, lo uint64, bits int, bad string) {
	a, bits, ok := splitCIDR(s, 128)
	if !ok {
		return 0, 0, 0, "prefix size"
	}
	ip, ok := addr.ParseIPv6(a)
	if !ok {
		return 0, 0, 0, "subnet"
	}
	hi, lo = ipv6Halves(ip)
	mh, ml := mask6(bits)
	if hi&^mh != 0 || lo&^ml != 0 {
		return 0, 0, 0, "subnet"
	}
	return hi, lo, bits, ""
}

// mask6 returns the network mask of a /bits IPv6 prefix as two halves.
func mask6(bits int) (hi, lo uint64) {
	switch {
	case bits <= 0:
		return 0, 0
	case bits < 64:
		return ^uint64(0) << uint(64-bits), 0
	case bits < 128:
		return ^uint64(0), ^uint64(0) << uint(128-bits)
	}
	return ^uint64(0), ^uint64(0)
}

func raiseCIDR(L *lua.LState, bad, s string) {
	L.RaiseError("invalid %s %s", bad, appendQuote54(nil, lua.LString(s)))
}

func nativeParseCIDR(L *lua.LState) int {
	s := L.CheckString(1)
	ip, bits, bad := ParseCIDR(s)
	if bad != "" {
		raiseCIDR(L, bad, s)
	}
	L.Push(lua.LNumber(ip))
	L.Push(lua.LNumber(bits))
	return 2
}

func nativeParseCIDR6(L *lua.LState) int {
	s := L.CheckString(1)
	hi, lo, bits, bad := ParseCIDR6(s)
	if bad != "" {
		raiseCIDR(L, bad, s)
	}
	L.Push(lua54.Integer(int64(hi)))
	L.Push(lua54.Integer(int64(lo)))
	L.Push(lua.LNumber(bits))
	return 3
}

// Ranges4 is a sorted list of disjoint, non-adjacent IPv4 ranges.
type Ranges4 [][2]uint32

// NewRanges4 merges prefixes (address, length) into sorted ranges.
func NewRanges4(nets [][2]uint32) Ranges4 {
	r := make(Ranges4, 0, len(nets))
	for _, n := range nets {
		lo := n[0]
		hi := lo | uint32(uint64(1)<<(32-n[1])-1)
		r = append(r, [2]uint32{lo, hi})
	}
	sort.Slice(r, func(i, j int) bool { return r[i][0] < r[j][0] })
	out := r[:0]
	for _, x := range r {
		if k := len(out); k > 0 && (x[0] <= out[k-1][1] || out[k-1][1] != math.MaxUint32 && x[0] == out[k-1][1]+1) {
			if x[1] > out[k-1][1] {
				out[k-1][1] = x[1]
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// Contains reports whether ip lies in one of the ranges.
func (r Ranges4) Contains(ip uint32) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= ip })
	return i < len(r) && r[i][0] <= ip
}

// word returns argument n as a 32-bit word. Anything but an integral
// number in [0, 2^32) raises "<who>: address expected, got <type>":
// the original computes `ip & mask`, which raises on nil (the route table
// of a host that is not an address of the family).
func word(L *lua.LState, n int, who string) uint32 {
	v := L.Get(n)
	f, ok := v.(lua.LNumber)
	if !ok || f < 0 || f > math.MaxUint32 || float64(f) != math.Trunc(float64(f)) {
		what := v.Type().String()
		if ok {
			what = "non-integral or out of range number"
		}
		L.RaiseError("%s: address expected, got %s", who, what)
	}
	return uint32(f)
}

// newSubnetMatcher: inet.subnet; matcher(ip) is true when the integer ip
// lies in one of the prefixes. Anything but an IPv4 integer raises.
func newSubnetMatcher(L *lua.LState) int {
	list := listArg(L, 1)
	nets := make([][2]uint32, 0, len(list))
	for _, s := range list {
		ip, bits, bad := ParseCIDR(s)
		if bad != "" {
			raiseCIDR(L, bad, s)
		}
		nets = append(nets, [2]uint32{ip, uint32(bits)})
	}
	r := NewRanges4(nets)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(r.Contains(word(L, 1, "inet.subnet"))))
		return 1
	}))
	return 1
}

// u128 is an IPv6 address as two halves.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() (u128, bool) {
	if a.lo != math.MaxUint64 {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != math.MaxUint64 {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

// Ranges6 is a sorted list of disjoint IPv6 ranges.
type Ranges6 []struct{ first, last u128 }

// NewRanges6 merges IPv6 prefixes into sorted ranges.
func NewRanges6(nets []Prefix6) Ranges6 {
	r := make(Ranges6, 0, len(nets))
	for _, n := range nets {
		mh, ml := mask6(n.Bits)
		first := u128{n.Hi, n.Lo}
		last := u128{n.Hi | ^mh, n.Lo | ^ml}
		r = append(r, struct{ first, last u128 }{first, last})
	}
	sort.Slice(r, func(i, j int) bool { return r[i].first.less(r[j].first) })
	out := r[:0]
	for _, x := range r {
		if k := len(out); k > 0 {
			prev := &out[k-1]
			after, ok := prev.last.next()
			if !ok || !after.less(x.first) {
				if prev.last.less(x.last) {
					prev.last = x.last
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// Prefix6 is one IPv6 prefix.
type Prefix6 struct {
	Hi, Lo uint64
	Bits   int
}

// Contains reports whether (hi, lo) lies in one of the ranges.
func (r Ranges6) Contains(hi, lo uint64) bool {
	ip := u128{hi, lo}
	i := sort.Search(len(r), func(i int) bool { return !r[i].last.less(ip) })
	return i < len(r) && !ip.less(r[i].first)
}

// newSubnet6Matcher: inet6.subnet; matcher(hi, lo) takes the two 64-bit
// integers parse_ipv6 returns. Anything else raises.
func newSubnet6Matcher(L *lua.LState) int {
	list := listArg(L, 1)
	nets := make([]Prefix6, 0, len(list))
	for _, s := range list {
		hi, lo, bits, bad := ParseCIDR6(s)
		if bad != "" {
			raiseCIDR(L, bad, s)
		}
		nets = append(nets, Prefix6{hi, lo, bits})
	}
	r := NewRanges6(nets)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		hi := half(L, 1, "inet6.subnet")
		lo := half(L, 2, "inet6.subnet")
		L.Push(lua.LBool(r.Contains(hi, lo)))
		return 1
	}))
	return 1
}

// half returns argument n as one 64-bit half of an IPv6 address (any
// integer, boxed or plain; negative values are the upper half of the
// unsigned range). Anything else raises like word.
func half(L *lua.LState, n int, who string) uint64 {
	v := L.Get(n)
	i, ok := lua54.IsInteger(v)
	if !ok {
		what := lua54.TypeName(v)
		if lua54.IsNumber(v) {
			what = "non-integral number"
		}
		L.RaiseError("%s: address expected, got %s", who, what)
	}
	return uint64(i)
}

// ipv6Halves returns an IPv6 address as its high and low 64 bits.
func ipv6Halves(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}
