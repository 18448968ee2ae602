package conformance

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// RandomRuleset returns the source of a seeded random route table: sets
// of every kind with overlapping domains and CIDRs, every matcher,
// composites up to depth 3, chains, hosts with IPv4, IPv6 and name values,
// users, load balancers, rewrite and loopback actions (looping ones too).
// One rule or declaration per line, so that line deletion shrinks it.
func RandomRuleset(seed uint64) string {
	g := &ruleGen{rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	return g.file()
}

// RandomRegexFreeRuleset is RandomRuleset without regex and pattern
// matchers (also none in sets and lists), loopback actions and load
// balancers: a table whose request classes PartitionOf enumerates
// exactly.
func RandomRegexFreeRuleset(seed uint64) string {
	g := &ruleGen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), regexFree: true}
	return g.file()
}

type ruleGen struct {
	rng     *rand.Rand
	b       strings.Builder
	strSets []string
	ipSets  []string
	actions []string
	chains  []string
	tag     int
	v6      bool // the IP table being written is route6
	// regexFree leaves out regex and pattern matchers, loopback and
	// load balancers.
	regexFree bool
}

var (
	genDomains = []string{"example.com", "a.example.com", "b.a.example.com", "lan", "corp.lan", "x.corp.lan",
		"test", "svc.test", "example.net", "xn--bcher-kva.example"}
	genHosts = []string{"example.com", "www.example.com", "a.example.com", "server.lan", "host.corp.lan",
		"svc.test", "localhost", "10.0.0.1", "2001:db8::1"}
	genPorts    = []string{"22", "53", "80", "443", "8080", "1-1024", "8000-9000", "65535"}
	genPatterns = []string{`^www%.`, `example`, `%.lan:%d+$`, `:443$`, `^[%w-]+%.test:`, `^10%.`, `%.com%.?:`, `EXAMPLE`}
	genRegexes  = []string{`^a\.`, `example\.com:80$`, `\.lan:[0-9]+$`, `^[a-z]+\.test`, `:(80|443)$`, `^\[`, `\d+\.\d+`}
	genV4       = []string{"10.0.0.0/8", "10.0.0.0/16", "10.0.1.0/24", "10.0.0.1", "192.168.0.0/16", "192.168.1.0/24",
		"127.0.0.0/8", "0.0.0.0/0", "203.0.113.0/24", "172.16.0.0/12"}
	genV6 = []string{"2001:db8::/32", "2001:db8::/48", "2001:db8::1", "::1", "fe80::/10", "::/0", "::ffff:0:0/96",
		"64:ff9b::/96", "fc00::/7"}
	genListItems = []string{`domain:corp.lan`, `full:svc.test`, `regexp:^www\.`, `keyword:example`, `full:Server.LAN`, `keyword:%`}
	genURIs      = []string{`"socks5://p1.lan:1080"`, `"socks4a://p2.lan:1080"`, `"http://p3.lan:3128"`, `"socks5://u:pw@p4.lan:1080"`}
	genDst       = []string{"10.0.0.1:80", "127.0.0.1:22", "[2001:db8::1]:443", "server.lan:8080", "a.example.com:443",
		"192.168.1.1:53"}
	genRewrite = [][2]string{{`example%.com`, `example.net`}, {`^www%.`, ``}, {`:80$`, `:8080`}, {`%.lan`, `.corp.lan`},
		{`^(.*):(%d+)$`, `%1:443`}}
	genLoop = [][2]string{{`example%.com`, `a.example.com`}, {`^.*:`, `10.0.1.5:`}, {`^.*:`, `[2001:db8::9]:`},
		{`lan:`, `corp.lan:`}, {`^(.*)$`, `%1`}, {`^[^:]*`, `svc.test`}}
)

func (g *ruleGen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *ruleGen) some(xs []string, max int) string {
	n := 1 + g.rng.IntN(max)
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, g.pick(xs))
	}
	return strings.Join(out, ", ")
}

func (g *ruleGen) p(format string, args ...any) { fmt.Fprintf(&g.b, format+"\n", args...) }

func quote(s string) string { return "`" + s + "`" }

func (g *ruleGen) file() string {
	g.p(`upstream up1 = "socks5://gw.lan:1080"`)
	g.p(`upstream up2 = "socks4a://10.9.9.9:1080"`)
	// Sets.
	for i := 0; i < g.rng.IntN(4); i++ {
		name := fmt.Sprintf("s%d", i)
		kind := g.rng.IntN(8)
		if g.regexFree && (kind == 3 || kind == 4 || kind == 5) {
			kind = 0
		}
		if g.regexFree && kind == 6 {
			g.p("set %s %s external", name, g.pick([]string{"domain", "host", "exact"}))
			g.strSets = append(g.strSets, name)
			continue
		}
		switch kind {
		case 0:
			g.p("set %s domain { %s }", name, g.some(genDomains, 4))
		case 1:
			g.p("set %s host { %s }", name, g.some(genHosts[:6], 3))
		case 2:
			g.p("set %s exact { %s }", name, g.some(genDst, 3))
		case 3:
			g.p("set %s pattern { %s }", name, g.someQuoted(genPatterns, 2))
		case 4:
			g.p("set %s regex { %s }", name, g.someQuoted(genRegexes, 2))
		case 5:
			g.p("set %s list { %s, %s }", name, g.some(genDomains, 2), g.someQuoted(genListItems, 3))
		case 6:
			g.p("set %s %s external", name, g.pick([]string{"domain", "host", "exact", "list"}))
		case 7:
			g.p(`set %s domain from "absent-%d.txt" optional`, name, i)
		}
		g.strSets = append(g.strSets, name)
	}
	for i := 0; i < g.rng.IntN(3); i++ {
		name := fmt.Sprintf("n%d", i)
		if g.rng.IntN(4) == 0 {
			g.p("set %s cidr external", name)
		} else {
			g.p("set %s cidr { %s, %s }", name, g.some(genV4, 3), g.some(genV6, 2))
		}
		g.ipSets = append(g.ipSets, name)
	}
	// Named actions (shared instances).
	for i := 0; i < g.rng.IntN(3); i++ {
		name := fmt.Sprintf("act%d", i)
		g.p("action %s = %s", name, g.action(1, true))
		g.actions = append(g.actions, name)
	}
	// Chains.
	for i := 0; i < g.rng.IntN(3); i++ {
		name := fmt.Sprintf("ch%d", i)
		g.p("chain %s {", name)
		for k := 0; k < 1+g.rng.IntN(4); k++ {
			g.p("    %s", g.rule(false))
		}
		g.p("}")
		g.chains = append(g.chains, name)
	}
	tables := []struct {
		name string
		ip   bool
	}{{"redirect_name", false}, {"redirect", false}, {"redirect6", false}, {"route", true}, {"route6", true}}
	for _, t := range tables {
		if g.rng.IntN(4) == 0 {
			continue
		}
		g.p("%s {", t.name)
		g.v6 = t.name == "route6"
		n := 1 + g.rng.IntN(6)
		if g.rng.IntN(8) == 0 {
			n = 8 + g.rng.IntN(6) // long runs exercise the segment index
		}
		for k := 0; k < n; k++ {
			if !t.ip && len(g.chains) > 0 && g.rng.IntN(6) == 0 {
				g.p("    call %s", g.pick(g.chains))
				continue
			}
			g.p("    %s", g.rule(t.ip))
		}
		g.p("}")
	}
	if g.rng.IntN(2) == 0 {
		g.p("hosts {")
		keys := []string{"example.com", "Server.LAN", "svc.test", "h1.lan", "a.example.com", "v6.lan"}
		g.rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for _, key := range keys[:1+g.rng.IntN(3)] {
			val := g.pick([]string{"10.0.0.1", "192.168.1.7", "2001:db8::5", "::1", "server.lan", "b.a.example.com"})
			g.p("    %s = %s", key, val)
		}
		g.p("}")
	}
	if g.rng.IntN(2) == 0 {
		g.p(`users { alice = "s3cret"  robot = any  "" = "" }`)
	}
	if g.rng.IntN(4) != 0 {
		a := g.action(2, false)
		for strings.Contains(a, "default") || strings.Contains(a, "resolve") || strings.HasPrefix(a, "act") {
			a = g.action(2, false)
		}
		g.p("default => %s%s", a, g.tagOpt())
	}
	return g.b.String()
}

func (g *ruleGen) someQuoted(xs []string, max int) string {
	n := 1 + g.rng.IntN(max)
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, quote(g.pick(xs)))
	}
	return strings.Join(out, ", ")
}

func (g *ruleGen) tagOpt() string {
	if g.rng.IntN(3) == 0 {
		return ""
	}
	g.tag++
	return fmt.Sprintf(" tag t%d", g.tag)
}

func (g *ruleGen) rule(ip bool) string {
	return fmt.Sprintf("%s => %s%s", g.expr(ip, 3), g.action(2, false), g.tagOpt())
}

func (g *ruleGen) expr(ip bool, depth int) string {
	if depth > 1 {
		switch g.rng.IntN(8) {
		case 0:
			return "not " + g.unaryParen(ip, depth-1)
		case 1:
			return g.unaryParen(ip, depth-1) + " and " + g.unaryParen(ip, depth-1)
		case 2:
			return g.unaryParen(ip, depth-1) + " or " + g.unaryParen(ip, depth-1)
		}
	}
	return g.leaf(ip)
}

func (g *ruleGen) unaryParen(ip bool, depth int) string {
	e := g.expr(ip, depth)
	if strings.Contains(e, " ") && (strings.Contains(e, " and ") || strings.Contains(e, " or ") || strings.HasPrefix(e, "not ")) {
		return "(" + e + ")"
	}
	return e
}

func (g *ruleGen) leaf(ip bool) string {
	if ip {
		switch g.rng.IntN(6) {
		case 0:
			return "any"
		case 1, 2:
			if len(g.ipSets) > 0 {
				return "in " + g.pick(g.ipSets)
			}
		}
		if g.v6 {
			return "cidr " + g.some(genV6, 3)
		}
		return "cidr " + g.some(genV4, 3)
	}
	k := g.rng.IntN(10)
	if g.regexFree && (k == 6 || k == 7) {
		k = 4
	}
	switch k {
	case 0:
		return "any"
	case 1:
		return "exact " + g.some(genDst, 3)
	case 2:
		return "host " + g.some(genHosts, 3)
	case 3:
		return "port " + g.some(genPorts, 2)
	case 4, 5:
		return "domain " + g.some(genDomains, 3)
	case 6:
		return "pattern " + g.someQuoted(genPatterns, 2)
	case 7:
		return "regex " + g.someQuoted(genRegexes, 2)
	}
	if len(g.strSets) > 0 {
		return "in " + g.pick(g.strSets)
	}
	return "domain " + g.some(genDomains, 2)
}

func (g *ruleGen) hops() string {
	var out []string
	for i := 0; i < 1+g.rng.IntN(2); i++ {
		out = append(out, g.pick(append([]string{"up1", "up2"}, genURIs...)))
	}
	return strings.Join(out, ", ")
}

func (g *ruleGen) via() string {
	if g.rng.IntN(2) == 0 {
		return ""
	}
	return " via " + g.hops()
}

func (g *ruleGen) action(depth int, inNamed bool) string {
	if !inNamed && len(g.actions) > 0 && g.rng.IntN(6) == 0 {
		return g.pick(g.actions)
	}
	k := g.rng.IntN(14)
	if g.regexFree && (k == 11 || k == 12 || k == 13) {
		k = 0
	}
	switch k {
	case 0, 1:
		return "direct"
	case 2:
		return "reject"
	case 3:
		return "default"
	case 4:
		return "resolve"
	case 5:
		return "redirect " + g.pick(genDst) + g.via()
	case 6:
		return "redirect host " + g.pick([]string{"127.0.0.1", "2001:db8::2", "gw.lan", "::1"}) + g.via()
	case 7:
		return "redirect port " + g.pick([]string{"8443", "22", "0"})
	case 8, 9:
		return "proxy " + g.hops()
	case 10:
		r := g.pick2(genRewrite)
		return fmt.Sprintf("rewrite %s to %s%s", quote(r[0]), quote(r[1]), g.via())
	case 11:
		r := g.pick2(genLoop)
		return fmt.Sprintf("loopback %s to %s", quote(r[0]), quote(r[1]))
	case 12:
		if depth > 0 {
			var items []string
			for i := 0; i < 1+g.rng.IntN(3); i++ {
				items = append(items, g.action(depth-1, true))
			}
			return "roundrobin { " + strings.Join(items, "; ") + " }"
		}
	case 13:
		if depth > 0 {
			var items []string
			for i := 0; i < 1+g.rng.IntN(3); i++ {
				items = append(items, fmt.Sprintf("%d %s", g.rng.IntN(4)*50, g.action(depth-1, true)))
			}
			return fmt.Sprintf("weighted cycle %d { %s }", 1+g.rng.IntN(10), strings.Join(items, "; "))
		}
	}
	return "direct"
}

func (g *ruleGen) pick2(xs [][2]string) [2]string { return xs[g.rng.IntN(len(xs))] }
