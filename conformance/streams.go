package conformance

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/ere"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Request is one routing question of a stream.
type Request struct {
	Callback route.Callback
	Addr     string
	Cred     route.Credentials
}

func (r Request) String() string {
	s := fmt.Sprintf("%s %q", r.Callback, r.Addr)
	if r.Cred.HasUsername {
		s += fmt.Sprintf(" user %q", r.Cred.Username)
	}
	if r.Cred.HasPassword {
		s += fmt.Sprintf(" password %q", r.Cred.Password)
	}
	return s
}

// Literals are the values a ruleset mentions; streams are built around
// them so that every rule is hit, missed by one, and probed at its edges.
type Literals struct {
	Names    []string       // domains, hosts, hosts-table keys (no port)
	Addrs    []string       // whole "host:port" literals (exact matchers, redirect targets)
	Prefixes []netip.Prefix // CIDRs of route/route6 rules and sets
	Ports    []uint16
	Users    map[string]string // user -> password ("" with AnyPassword for `any`)
	Regexes  []string          // POSIX EREs of regex matchers
	Patterns []string          // Lua patterns of pattern matchers, rewrite and loopback
	Probes   []string          // addresses built from the rules' structure (MC/DC pairs)
}

// Merge adds the literals of o to l.
func (l *Literals) Merge(o Literals) {
	l.Names = append(l.Names, o.Names...)
	l.Addrs = append(l.Addrs, o.Addrs...)
	l.Prefixes = append(l.Prefixes, o.Prefixes...)
	l.Ports = append(l.Ports, o.Ports...)
	l.Regexes = append(l.Regexes, o.Regexes...)
	l.Patterns = append(l.Patterns, o.Patterns...)
	l.Probes = append(l.Probes, o.Probes...)
	if len(o.Users) > 0 && l.Users == nil {
		l.Users = map[string]string{}
	}
	for u, p := range o.Users {
		l.Users[u] = p
	}
	l.dedup()
}

// fixedNames are the name edge cases of design §8 (case, IDN, dots,
// IP-looking names).
var fixedNames = []string{
	"example.com", "EXAMPLE.COM", "ExAmPlE.cOm", "xn--bcher-kva.example", "XN--BCHER-KVA.example",
	"bücher.example", "例子.测试", "\u212Aelvin.example", "ехаmple.com", "bad\xff\xfeutf8.example",
	"example.com.", "example.com..", ".example.com", "a..example.com", "localhost",
	strings.Repeat("a", 63) + ".example", strings.Repeat("b", 64) + ".example",
	strings.Repeat("abcdefghi.", 25) + "com", // 253 characters
	"1.2.3.4", "1.2.3.4.", "01.2.3.4", "1.2.3", "999.1.1.1", "0x7f.0.0.1", "",
}

// fixedPorts are the port spellings of design §8, valid and not.
var fixedPorts = []string{"0", "1", "53", "80", "443", "65535", "65536", "", "080", "+80", " 80", "0x50", "80.0", "-1"}

// malformed are addresses no splitter accepts, or only barely.
var malformed = []string{"[::1]", "::1:80", "host", ":80", "[]:80", "[::1]:", "[1.2.3.4]:80",
	strings.Repeat("x", 300) + ":80"}

// fixedIPv6 are IPv6 spellings of design §8.
var fixedIPv6 = []string{"::", "::1", "2001:DB8::1", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001",
	"::ffff:1.2.3.4", "::ffff:102:304", "64:ff9b::1.2.3.4", "fe80::1%eth0", "fe80::1"}

// Generate builds a request stream from lits: every literal through every
// callback where it is well-formed, the fixed edge cases, CIDR edges ±1,
// names and CIDR edges crossed with the port literals, regex and pattern
// witnesses, the probes, credentials, and repeats so that load balancers
// cycle at least twice. The same seed always gives the same stream.
//
// Its size grows with names × (port literals × 3 + 2) (at most maxCross),
// plus about 50 per regex or pattern and a few per probe, name and
// prefix; past maxBase requests a seeded sample of maxBase is kept (in
// order), so that a table of thousands of rules stays quick to check.
// Credentials add up to 64 + 3 per user, and size pads with repeats.
func Generate(lits Literals, seed uint64, size int) []Request {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{rng: rng}
	names := append(append([]string(nil), lits.Names...), fixedNames...)
	ports := append([]string(nil), fixedPorts...)
	for _, p := range lits.Ports {
		ports = append(ports, strconv.Itoa(int(p)), strconv.Itoa(int(p)+1), strconv.Itoa(int(p)-1))
	}
	// Every literal, in every case variant, with common ports.
	for _, n := range names {
		for i, v := range caseVariants(n) {
			g.core = i == 0
			g.name(v + ":80")
			g.name(v + ":443")
		}
	}
	g.core = true
	for _, a := range lits.Addrs {
		g.name(a)
		g.name(addr.Upper(a))
		if h, _, err := addr.Split(a); err == nil {
			if _, ok := addr.ParseIPv4(h); ok {
				g.add(route.Route, a)
			} else if _, ok := addr.ParseIPv6(h); ok {
				g.add(route.Route6, a)
			}
		}
	}
	g.core = false
	for _, p := range ports {
		g.name("example.com:" + p)
		g.add(route.Route, "10.0.0.1:"+p)
		g.add(route.Route6, "[2001:db8::1]:"+p)
	}
	// Each name as a subdomain, as its parent and with a trailing dot:
	// host and domain rules differ exactly there.
	for _, n := range lits.Names {
		for _, v := range nameNeighbours(n) {
			g.addr(addr.Join(v, "80"))
			g.addr(addr.Join(v, "443"))
		}
	}
	g.cross(lits)
	// Strings that match each regex and pattern, and near misses: the
	// witness as it is (it may be a whole address) and with a port.
	for _, re := range lits.Regexes {
		ms, near, err := ere.Witnesses(ere.Compat(re), ere.Extended|ere.Newline)
		if err == nil {
			g.witnesses(ms, near)
		}
	}
	for _, p := range lits.Patterns {
		g.witnesses(PatternWitnesses(p))
	}
	g.core = true
	for _, a := range lits.Probes {
		g.addr(a)
	}
	g.core = false
	for _, m := range malformed {
		g.name(m)
	}
	// IPv4 and IPv6 edges.
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.1", "192.168.1.1", "8.8.8.8"} {
		g.ip4(s, "80")
	}
	for _, s := range fixedIPv6 {
		g.add(route.Route6, "["+s+"]:80")
		g.name("[" + s + "]:443")
	}
	for _, p := range lits.Prefixes {
		for i, a := range prefixEdges(p) {
			g.core = i == 0 // the first address of each prefix
			if a.Is4() {
				g.ip4(a.String(), "80")
			} else {
				g.add(route.Route6, "["+a.String()+"]:80")
				g.name("[" + a.String() + "]:80")
			}
		}
	}
	g.thin(maxBase)
	// Credentials: none, right, wrong, empty user, unknown user; each user
	// also without a password, as a SOCKS4 user ID arrives.
	base := len(g.reqs)
	var creds []route.Credentials
	users := make([]string, 0, len(lits.Users))
	for u := range lits.Users {
		users = append(users, u)
	}
	slices.Sort(users) // map order would make the stream differ run to run
	for _, u := range users {
		p := lits.Users[u]
		creds = append(creds,
			route.Credentials{Username: u, Password: p, HasUsername: true, HasPassword: true},
			route.Credentials{Username: u, Password: p + "x", HasUsername: true, HasPassword: true},
			route.Credentials{Username: u, HasUsername: true})
	}
	creds = append(creds,
		route.Credentials{Username: "", Password: "", HasUsername: true, HasPassword: true},
		route.Credentials{Username: "nobody", Password: "pw", HasUsername: true, HasPassword: true},
		route.Credentials{Username: "", HasUsername: true},
		route.Credentials{Username: "nobody", HasUsername: true})
	// Every credential class on a few addresses, then random pairs.
	for i, c := range creds {
		for k := 0; k < 3 && base > 0; k++ {
			r := g.reqs[(i*7+k*13)%base]
			r.Cred = c
			g.reqs = append(g.reqs, r)
		}
	}
	for i := 0; i < base && i < 64; i++ {
		r := g.reqs[rng.IntN(base)]
		r.Cred = creds[rng.IntN(len(creds))]
		g.reqs = append(g.reqs, r)
	}
	// Random picks, each repeated a few times in a row so that round-robin
	// and weighted actions go through two cycles, interleaved with others.
	for len(g.reqs) < size && base > 0 {
		r := g.reqs[rng.IntN(base)]
		for k := 2 + rng.IntN(6); k > 0; k-- {
			g.reqs = append(g.reqs, r)
		}
		g.reqs = append(g.reqs, g.reqs[rng.IntN(base)])
	}
	return g.reqs
}

type gen struct {
	rng  *rand.Rand
	reqs []Request
	seen map[Request]int // index in reqs before thin
	// core marks the requests added while it is set: those thin keeps.
	core   bool
	isCore []bool
}

func (g *gen) add(cb route.Callback, a string) {
	r := Request{Callback: cb, Addr: a}
	if g.seen == nil {
		g.seen = map[Request]int{}
	}
	if i, ok := g.seen[r]; ok {
		if g.core && i < len(g.isCore) {
			g.isCore[i] = true
		}
		return
	}
	g.seen[r] = len(g.reqs)
	g.reqs = append(g.reqs, r)
	g.isCore = append(g.isCore, g.core)
}

// name adds a request for the name callback (as SOCKS5 with a domain or
// HTTP CONNECT would send it).
func (g *gen) name(a string) { g.add(route.Resolve, a) }

// ip4 adds an IPv4 address through the IPv4 callback and, as HTTP CONNECT
// would, through the name callback.
func (g *gen) ip4(ip, port string) {
	g.add(route.Route, ip+":"+port)
	g.name(ip + ":" + port)
}

// addr adds a as a name request and, when its host is an IP address,
// through the IPv4 or IPv6 callback too.
func (g *gen) addr(a string) {
	g.name(a)
	if h, _, err := addr.Split(a); err == nil {
		if _, ok := addr.ParseIPv4(h); ok {
			g.add(route.Route, a)
		} else if _, ok := addr.ParseIPv6(h); ok {
			g.add(route.Route6, a)
		}
	}
}

// witnesses adds regex or pattern matches and near misses as they are
// and, when they have no port of their own, followed by ":80"; the first
// of each list is core.
func (g *gen) witnesses(matches, near []string) {
	for _, list := range [][]string{matches, near} {
		for i, w := range list {
			g.core = i == 0
			g.addr(w)
			if _, p, err := addr.Split(w); err != nil || p == "" {
				g.addr(w + ":80")
			}
		}
	}
	g.core = false
}

// maxCross bounds the names × ports part of a stream, maxBase the
// requests before credentials and repeats.
const (
	maxCross = 3000
	maxBase  = 6000
)

// thin keeps at most n requests, in their order: the core ones (each
// literal once, the first witnesses, the probes) and a seeded sample of
// the rest.
func (g *gen) thin(n int) {
	if len(g.reqs) <= n {
		return
	}
	var core, rest []int
	for i, c := range g.isCore {
		if c {
			core = append(core, i)
		} else {
			rest = append(rest, i)
		}
	}
	keep := core
	if len(core) > n {
		g.rng.Shuffle(len(core), func(i, j int) { core[i], core[j] = core[j], core[i] })
		keep = core[:n]
	} else {
		g.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		keep = append(keep, rest[:n-len(core)]...)
	}
	slices.Sort(keep)
	kept := make([]Request, len(keep))
	for i, k := range keep {
		kept[i] = g.reqs[k]
	}
	g.reqs = kept
	g.isCore = nil
}

// cross adds every name and CIDR edge crossed with every port literal,
// its ±1 edges and the common ports 80 and 443. Past maxCross requests, each name keeps
// the common ports and a seeded sample of the others, so the stream stays
// bounded on large tables.
func (g *gen) cross(lits Literals) {
	ports := []int{80, 443}
	for _, p := range lits.Ports {
		ports = append(ports, int(p)-1, int(p), int(p)+1)
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	ports = slices.DeleteFunc(ports, func(p int) bool { return p < 0 || p > 65535 })
	// CIDR edges too: the IP flows meet port and exact rules of redirect
	// and redirect6 before route and route6.
	names := slices.Clone(lits.Names)
	for _, pr := range lits.Prefixes {
		for _, a := range prefixEdges(pr) {
			names = append(names, a.String())
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	perName := len(ports)
	if len(names)*len(ports) > maxCross && len(names) > 0 {
		perName = max(maxCross/len(names), 4)
	}
	for _, n := range names {
		if perName >= len(ports) {
			for _, p := range ports {
				g.addr(addr.Join(n, strconv.Itoa(p)))
			}
			continue
		}
		g.addr(addr.Join(n, "80"))
		g.addr(addr.Join(n, "443"))
		for k := 2; k < perName; k++ {
			g.addr(addr.Join(n, strconv.Itoa(ports[g.rng.IntN(len(ports))])))
		}
	}
}

// nameNeighbours returns a name's subdomain, parent and trailing-dot
// forms.
func nameNeighbours(n string) []string {
	out := []string{"x." + n, n + "."}
	if _, parent, ok := strings.Cut(n, "."); ok && parent != "" {
		out = append(out, parent)
	}
	return out
}

func caseVariants(s string) []string {
	v := []string{s, addr.Lower(s), addr.Upper(s)}
	b := []byte(s)
	for i := range b {
		if i%2 == 0 && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return append(v, string(b))
}

// prefixEdges returns the first and last address of p and their
// neighbours outside it.
func prefixEdges(p netip.Prefix) []netip.Addr {
	p = p.Masked()
	first := p.Addr()
	last := first
	bits := first.BitLen()
	b := last.AsSlice()
	for i := p.Bits(); i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	last, _ = netip.AddrFromSlice(b)
	out := []netip.Addr{first, last}
	if prev := first.Prev(); prev.IsValid() {
		out = append(out, prev)
	}
	if next := last.Next(); next.IsValid() {
		out = append(out, next)
	}
	return out
}
