package conformance

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// Partition is the finite set of request classes that route tables built
// from the same literals can tell apart, with one representative request
// per class.
//
// Every matcher but regex and pattern depends on a request only through
// finitely many questions: is lower(addr) one of the exact literals, is
// lower(host) one of the host literals or hosts keys, which domain
// literals are label suffixes of it, which port ranges hold tonumber(port),
// which prefixes hold the address, is the user known and the password
// right. The answers are the same for every request of a class, so a table
// without regex and pattern matchers picks the same rule and action for
// the whole class, and the action is the same function of the address.
// Running two such tables on one representative per class therefore
// decides whether they ever differ, up to the caveats in Inexact.
type Partition struct {
	Reps []Request
	// Inexact names what the partition cannot cover exactly: regex and
	// Lua pattern matchers (their classes are not finite unions of the
	// literals above), loopback actions (their output is routed again
	// from a class the partition does not follow), and load balancers
	// (each representative is repeated LBRounds times, which covers that
	// many consecutive picks, not every history).
	Inexact  []string
	LBRounds int
}

// Exact reports whether deciding alike on Reps proves that the tables
// decide alike on every request (no regex, pattern or loopback).
func (p Partition) Exact() bool { return len(p.Inexact) == 0 }

// PartitionOf returns the classes of the union of the literals of the
// given programs, and of names the fake resolver answers (dns keys). Its
// size grows with (names × 5 + IP edges) × (port edges × 2 + 4).
func PartitionOf(progs []*dsl.Program, dnsNames []string) Partition {
	var part Partition
	c := &classes{}
	for _, p := range progs {
		c.program(p, &part)
	}
	for _, n := range dnsNames {
		c.name(n)
	}
	part.Inexact = dedupStrings(part.Inexact)
	if part.LBRounds == 0 {
		part.LBRounds = 1
	}
	part.Reps = c.requests(part.LBRounds)
	return part
}

func dedupStrings(xs []string) []string {
	slices.Sort(xs)
	return slices.Compact(xs)
}

// classes collects the literals that bound the classes.
type classes struct {
	names    []string // host names (lower case, no port)
	exact    []string // whole addresses of exact matchers
	ips      []netip.Addr
	ports    []int
	users    map[string]string
	anyUsers []string
}

func (c *classes) name(n string) {
	n = addr.Lower(n)
	if a, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
		c.ips = append(c.ips, a)
		return
	}
	c.names = append(c.names, n)
}

func (c *classes) prefix(p netip.Prefix) {
	c.ips = append(c.ips, prefixEdges(p)...)
}

// literal adds the classes one matcher literal tells apart; a regex or a
// pattern makes the partition inexact.
func (c *classes) literal(x dsl.Literal, part *Partition) {
	v := x.Value
	switch x.Kind {
	case dsl.LitAddr:
		c.exact = append(c.exact, v)
		if h, port, err := addr.Split(v); err == nil {
			c.name(h)
			if n, err := strconv.Atoi(port); err == nil {
				c.ports = append(c.ports, n)
			}
		}
	case dsl.LitHost, dsl.LitDomain:
		c.name(v)
	case dsl.LitRegex:
		part.Inexact = append(part.Inexact, fmt.Sprintf("regex %q", v))
	case dsl.LitPattern:
		part.Inexact = append(part.Inexact, fmt.Sprintf("pattern %q", v))
	case dsl.LitPorts:
		r := x.Ports
		c.ports = append(c.ports, r.Lo-1, r.Lo, r.Hi, r.Hi+1)
	case dsl.LitPrefix:
		c.prefix(x.Prefix)
	}
}

func (c *classes) program(p *dsl.Program, part *Partition) {
	walk := func(m dsl.MatchIR) {
		eachLeaf(m, func(leaf dsl.Leaf) {
			for _, x := range leaf.Literals() {
				c.literal(x, part)
			}
		})
	}
	var act func(a *dsl.ActIR)
	act = func(a *dsl.ActIR) {
		if a == nil {
			return
		}
		switch a.Kind {
		case dsl.ALoopback:
			part.Inexact = append(part.Inexact, fmt.Sprintf("loopback %q to %q", a.Pat, a.Repl))
		case dsl.ARoundRobin, dsl.AIWRR:
			part.LBRounds = max(part.LBRounds, lbRounds(a))
		case dsl.ARedirect:
			// A redirected address is not routed again, but its host may
			// be a name a resolve or hosts entry knows.
			if h, _, err := addr.Split(a.Dst); err == nil && h != "" {
				c.name(h)
			}
		}
		for _, it := range a.Items {
			act(it)
		}
	}
	for _, r := range p.Rules {
		if r.M != nil {
			walk(r.M)
		}
		act(r.A)
	}
	for _, a := range p.Actions {
		act(a)
	}
	for _, h := range p.Hosts {
		c.name(h.Key)
		c.name(h.Val)
	}
	if p.HasUsers {
		if c.users == nil {
			c.users = map[string]string{}
		}
		for _, u := range p.Users {
			if u.Any {
				c.anyUsers = append(c.anyUsers, u.Name)
			} else {
				c.users[u.Name] = u.Pass
			}
		}
	}
}

// lbRounds is how many consecutive picks of a load balancer the
// partition covers: two full rounds of a roundrobin, and for a weighted
// action two rounds of its items or its cycle, whichever is longer, capped
// so that the stream stays small.
func lbRounds(a *dsl.ActIR) int {
	n := 2 * len(a.Items)
	if a.Kind == dsl.AIWRR && a.Cycle > 0 {
		n = max(n, int(2*a.Cycle))
	}
	return min(n, 8)
}

// requests lists one representative per class: every name in its classes
// (itself, with a trailing dot, a fresh subdomain with and without the
// dot, its parent) crossed with every port class, every exact literal,
// every IP edge through each callback, unsplittable addresses, and the
// credential classes. Each is repeated rounds times in a row.
func (c *classes) requests(rounds int) []Request {
	names := []string{"fresh-name.invalid"}
	for _, n := range c.names {
		names = append(names, n, n+".", "zq-sub."+n, "zq-sub."+n+".")
		if _, parent, ok := strings.Cut(n, "."); ok && parent != "" {
			names = append(names, parent)
		}
	}
	names = dedupStrings(names)
	ports := []string{"", "x", "0", "65535", "80"}
	slices.Sort(c.ports)
	for _, p := range slices.Compact(c.ports) {
		if p >= 0 && p <= 65535 {
			ports = append(ports, strconv.Itoa(p), "0"+strconv.Itoa(p))
		}
	}
	ports = dedupStrings(ports)
	g := &gen{}
	for _, n := range names {
		for _, p := range ports {
			g.name(n + ":" + p)
		}
	}
	for _, e := range dedupStrings(c.exact) {
		g.name(e)
	}
	ips := append(c.ips, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	for _, ip := range slices.Compact(ips) {
		for _, p := range ports {
			if ip.Is4() {
				g.ip4(ip.String(), p)
			} else {
				a := "[" + ip.String() + "]:" + p
				g.add(route.Route6, a)
				g.name(a)
			}
		}
	}
	for _, m := range []string{"no-port", "[::1]", strings.Repeat("x", 262) + ":80"} {
		g.name(m)
	}
	base := g.reqs
	var creds []route.Credentials
	users := make([]string, 0, len(c.users))
	for u := range c.users {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		creds = append(creds,
			route.Credentials{Username: u, Password: c.users[u], HasUsername: true, HasPassword: true},
			route.Credentials{Username: u, Password: c.users[u] + "x", HasUsername: true, HasPassword: true})
	}
	for _, u := range dedupStrings(c.anyUsers) {
		creds = append(creds, route.Credentials{Username: u, Password: "whatever", HasUsername: true, HasPassword: true})
	}
	creds = append(creds,
		route.Credentials{Username: "nobody", Password: "pw", HasUsername: true, HasPassword: true},
		route.Credentials{Username: "", Password: "", HasUsername: true, HasPassword: true})
	// Authentication is decided before routing and does not depend on the
	// address, so each credential class needs one address class only; the
	// address classes carry the first right credentials, if any.
	if len(users) > 0 {
		for i := range base {
			base[i].Cred = creds[0]
		}
	}
	var out []Request
	if len(base) > 0 {
		for _, cr := range creds {
			r := base[0]
			r.Cred = cr
			out = append(out, r)
		}
	}
	out = append(out, base...)
	if rounds <= 1 {
		return out
	}
	rep := make([]Request, 0, len(out)*rounds)
	for _, r := range out {
		for i := 0; i < rounds; i++ {
			rep = append(rep, r)
		}
	}
	return rep
}
