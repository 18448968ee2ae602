package conformance

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// benchEngines returns G, G0 and L for src.
func benchEngines(b *testing.B, name string, src []byte, dir string) map[string]Engine {
	b.Helper()
	p, d := dsl.Check(name, src, checkOpts(dir))
	if p == nil {
		b.Fatal(d.Format())
	}
	out := map[string]Engine{}
	for _, m := range []GoMode{Indexed, Linear} {
		e, err := NewGoEngine(p, m, World{})
		if err != nil {
			b.Fatal(err)
		}
		out[e.Name()] = e
	}
	l, err := NewLuaEngine("L", []byte(dsl.Translate(p)), "@bench.lua", LuaOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	out["L"] = l
	return out
}

func benchStream(b *testing.B, engines map[string]Engine, stream []Request) {
	for _, name := range []string{"G", "G0", "L"} {
		e := engines[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := e.Decide(stream[i%len(stream)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExample1 decides a mix of requests with ex1.nrt on the
// compiled engine (G, G0) and through the translated Lua (L).
func BenchmarkExample1(b *testing.B) {
	src, err := os.ReadFile("../dsl/testdata/ex1.nrt")
	if err != nil {
		b.Fatal(err)
	}
	es := benchEngines(b, "ex1.nrt", src, "../dsl/testdata")
	stream := []Request{
		{Callback: route.Resolve, Addr: "server.lan:22"},
		{Callback: route.Resolve, Addr: "www.example.com:443"},
		{Callback: route.Resolve, Addr: "printer.local:631"},
		{Callback: route.Route, Addr: "192.168.1.5:80"},
		{Callback: route.Route, Addr: "8.8.8.8:53"},
		{Callback: route.Route6, Addr: "[2001:db8::1]:443"},
	}
	benchStream(b, es, stream)
}

// BenchmarkSegment decides against 64 adjacent host rules (one segment
// index in G, linear in G0 and L).
func BenchmarkSegment(b *testing.B) {
	var s strings.Builder
	s.WriteString("redirect_name {\n")
	for i := 0; i < 64; i++ {
		fmt.Fprintf(&s, "    host h%d.example, g%d.example => redirect 10.0.0.%d:80 tag t%d\n", i, i, i, i)
	}
	s.WriteString("}\n")
	es := benchEngines(b, "seg.nrt", []byte(s.String()), ".")
	stream := []Request{
		{Callback: route.Resolve, Addr: "h63.example:80"},
		{Callback: route.Resolve, Addr: "g40.example:443"},
		{Callback: route.Resolve, Addr: "miss.example:80"},
	}
	benchStream(b, es, stream)
}

// BenchmarkList1k decides against a 1000-entry domain set.
func BenchmarkList1k(b *testing.B) {
	var s strings.Builder
	s.WriteString("set names domain {\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&s, "    host%d.example%d.com,\n", i, i%97)
	}
	s.WriteString("}\nredirect_name { in names => proxy \"socks5://p:1\" tag names }\n")
	es := benchEngines(b, "list.nrt", []byte(s.String()), ".")
	stream := []Request{
		{Callback: route.Resolve, Addr: "www.host424.example36.com:443"},
		{Callback: route.Resolve, Addr: "www.nothere.example:443"},
	}
	benchStream(b, es, stream)
}

// thousandRules is a route table of 1 000 rules: names, port ranges,
// exact addresses, regexes, patterns, composites and CIDRs.
func thousandRules() string {
	var b strings.Builder
	b.WriteString("upstream gw = \"socks5://gw.lan:1080\"\nredirect_name {\n")
	for i := 0; i < 600; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "    domain d%d.example => proxy gw tag d%d\n", i, i)
		case 1:
			fmt.Fprintf(&b, "    host h%d.example and port %d-%d => direct tag h%d\n", i, 1000+i, 2000+i, i)
		case 2:
			fmt.Fprintf(&b, "    exact e%d.example:%d => reject\n", i, 80+i)
		case 3:
			fmt.Fprintf(&b, "    regex `^r%d\\.[a-z]+:[0-9]+$` => direct tag r%d\n", i, i)
		case 4:
			fmt.Fprintf(&b, "    pattern \"^p%d%%.%%w+:%%d+$\" => reject tag p%d\n", i, i)
		default:
			fmt.Fprintf(&b, "    host n%d.example or domain m%d.example => redirect 10.%d.0.1:80\n", i, i, i%250)
		}
	}
	b.WriteString("}\nroute {\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "    cidr 10.%d.%d.0/20 => direct tag c%d\n", i%250, i/250*16, i)
	}
	b.WriteString("}\ndefault => proxy gw tag gw\n")
	return b.String()
}

// BenchmarkConform1000 is `nrt conform` on a 1 000-rule table and its
// translation: literals, stream, both engines, coverage.
func BenchmarkConform1000(b *testing.B) {
	p, d := dsl.Check("big.nrt", []byte(thousandRules()), dsl.CheckOptions{})
	if p == nil {
		b.Fatal(d.Format())
	}
	lua := []byte(dsl.Translate(p))
	for b.Loop() {
		lits := LiteralsOf(p)
		lits.Merge(LuaLiterals(lua))
		w := World{DNS: MakeDNS(lits, 1)}
		stream := Generate(lits, 1, 2000)
		g, err := NewGoEngine(p, Indexed, w)
		if err != nil {
			b.Fatal(err)
		}
		l, err := NewLuaEngine("L", lua, "@big.lua", LuaOptions{Resolve: w.resolver()})
		if err != nil {
			b.Fatal(err)
		}
		if m := Run([]Engine{g, l}, stream); m != nil {
			b.Fatal(m)
		}
		l.Close()
		if _, err := CoverageOf(p, w, stream); err != nil {
			b.Fatal(err)
		}
	}
}
