package conformance

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
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
}

// Merge adds the literals of o to l.
func (l *Literals) Merge(o Literals) {
	l.Names = append(l.Names, o.Names...)
	l.Addrs = append(l.Addrs, o.Addrs...)
	l.Prefixes = append(l.Prefixes, o.Prefixes...)
	l.Ports = append(l.Ports, o.Ports...)
	if len(o.Users) > 0 && l.Users == nil {
		l.Users = map[string]string{}
	}
	for u, p := range o.Users {
		l.Users[u] = p
	}
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
// credentials, and repeats so that load balancers cycle at least twice.
// The same seed always gives the same stream.
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
		for _, v := range caseVariants(n) {
			g.name(v + ":80")
			g.name(v + ":443")
		}
	}
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
	for _, p := range ports {
		g.name("example.com:" + p)
		g.add(route.Route, "10.0.0.1:"+p)
	}
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
		for _, a := range prefixEdges(p) {
			if a.Is4() {
				g.ip4(a.String(), "80")
			} else {
				g.add(route.Route6, "["+a.String()+"]:80")
				g.name("[" + a.String() + "]:80")
			}
		}
	}
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
	seen map[Request]bool
}

func (g *gen) add(cb route.Callback, a string) {
	r := Request{Callback: cb, Addr: a}
	if g.seen == nil {
		g.seen = map[Request]bool{}
	}
	if g.seen[r] {
		return
	}
	g.seen[r] = true
	g.reqs = append(g.reqs, r)
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
