package dsl

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// segmentSource returns a table whose chains hold runs of >= 8 rules of
// each indexable kind, with overlapping values, so that first-writer-wins
// matters.
func segmentSource(rng *rand.Rand) string {
	labels := []string{"a", "b", "example", "com", "net", "x"}
	name := func() string {
		n := 1 + rng.IntN(3)
		var p []string
		for i := 0; i < n; i++ {
			p = append(p, labels[rng.IntN(len(labels))])
		}
		return strings.Join(p, ".")
	}
	var b strings.Builder
	b.WriteString("redirect_name {\n")
	for _, kind := range []string{"exact", "host", "domain"} {
		for i := 0; i < 8+rng.IntN(5); i++ {
			var vals []string
			for k := 0; k < 1+rng.IntN(3); k++ {
				v := name()
				if kind == "exact" {
					v += fmt.Sprintf(":%d", 80+rng.IntN(2))
				}
				vals = append(vals, v)
			}
			fmt.Fprintf(&b, "    %s %s => redirect 10.%d.0.1:%d tag %s%d\n", kind, strings.Join(vals, ", "), i, i+1, kind, i)
		}
		b.WriteString("    port 22 => reject\n")
	}
	b.WriteString("}\nroute {\n")
	for i := 0; i < 12; i++ {
		bits := 8 + rng.IntN(17)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), 0}), bits).Masked()
		fmt.Fprintf(&b, "    cidr %s => proxy \"socks5://p%d:1\" tag c%d\n", p, i, i)
	}
	b.WriteString("}\nroute6 {\n")
	for i := 0; i < 10; i++ {
		bits := 16 + rng.IntN(100)
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(3)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(rng.IntN(3))}), bits).Masked()
		fmt.Fprintf(&b, "    cidr %s => proxy \"socks5://q%d:1\" tag d%d\n", p, i, i)
	}
	b.WriteString("    cidr ::/0 => reject\n}\n")
	return b.String()
}

func TestSegmentIndexAgreesWithLinear(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		src := segmentSource(rng)
		p, d := Check("seg.nrt", []byte(src), CheckOptions{})
		if p == nil {
			t.Fatalf("seed %d: %s\n%s", seed, d.Format(), src)
		}
		g, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		g0, err := CompileWith(p, CompileOptions{NoIndex: true})
		if err != nil {
			t.Fatal(err)
		}
		segs := 0
		for _, c := range g.tables {
			if c != nil && c.segs != nil {
				for _, sg := range c.segs {
					if sg != nil {
						segs++
					}
				}
			}
		}
		if segs < 5 || g0.tables[TRedirectName].segs != nil {
			t.Fatalf("seed %d: %d segments indexed (want 5), linear table has segments", seed, segs)
		}
		var reqs []string
		words := []string{"a", "b", "example", "com", "net", "x", "EXAMPLE", "", "y"}
		for i := 0; i < 400; i++ {
			var p []string
			for k := 0; k < 1+rng.IntN(4); k++ {
				p = append(p, words[rng.IntN(len(words))])
			}
			reqs = append(reqs, strings.Join(p, ".")+fmt.Sprintf(":%d", 79+rng.IntN(4)))
			reqs = append(reqs, fmt.Sprintf("10.%d.%d.%d:80", rng.IntN(5), rng.IntN(256), rng.IntN(256)))
			reqs = append(reqs, fmt.Sprintf("[2001:db8:%x::%x]:80", rng.IntN(4)<<8, rng.IntN(4)))
		}
		reqs = append(reqs, "no-port", "[::1", strings.Repeat("a", 300)+":1", "[2001:db8::]:80", "[ffff::]:1")
		for _, a := range reqs {
			cb := route.Resolve
			if strings.HasPrefix(a, "10.") {
				cb = route.Route
			} else if strings.HasPrefix(a, "[2001") {
				cb = route.Route6
			}
			d1, e1 := g.Decide(context.Background(), cb, a, route.Credentials{}, nil)
			d2, e2 := g0.Decide(context.Background(), cb, a, route.Credentials{}, nil)
			if FormatDecision(d1) != FormatDecision(d2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
				t.Fatalf("seed %d %s %q:\nindexed %s %v\nlinear  %s %v\n%s", seed, cb, a, FormatDecision(d1), e1, FormatDecision(d2), e2, src)
			}
		}
	}
}

func TestFirstWriterWins(t *testing.T) {
	r := func(lo, hi uint64, rule int32) ival { return ival{u128{0, lo}, u128{0, hi}, rule} }
	got := firstWriter([]ival{r(10, 20, 1), r(0, 100, 2), r(15, 30, 0), r(200, 300, 3)})
	want := []ival{r(0, 9, 2), r(10, 14, 1), r(15, 30, 0), r(31, 100, 2), r(200, 300, 3)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	all := u128{^uint64(0), ^uint64(0)}
	got = firstWriter([]ival{{u128{}, all, 1}, {u128{1 << 63}, all, 0}})
	want = []ival{{u128{}, u128{1<<63 - 1, ^uint64(0)}, 1}, {u128{1 << 63}, all, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("top of the space: got %v\nwant %v", got, want)
	}
}

// segTable has 200 adjacent domain rules and 200 adjacent cidr rules.
func segTable(b *testing.B, o CompileOptions) *Table {
	b.Helper()
	var s strings.Builder
	s.WriteString("redirect_name {\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&s, "    domain d%d.example, e%d.example => proxy \"socks5://p%d:1\" tag d%d\n", i, i, i%7, i)
	}
	s.WriteString("}\nroute {\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&s, "    cidr 10.%d.0.0/16 => proxy \"socks5://p%d:1\" tag c%d\n", i, i%7, i)
	}
	s.WriteString("}\n")
	p, d := Check("seg.nrt", []byte(s.String()), CheckOptions{})
	if p == nil {
		b.Fatal(d.Format())
	}
	t, err := CompileWith(p, o)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func benchSeg(b *testing.B, o CompileOptions, cb route.Callback, a string) {
	t := segTable(b, o)
	env := &Env{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := t.decide(context.Background(), cb, a, route.Credentials{}, env, discard); d.Verdict != route.Forward || d.Chain.Len() != 1 {
			b.Fatal(FormatDecision(d))
		}
	}
}

func BenchmarkSegmentDomainHit(b *testing.B) {
	b.Run("indexed", func(b *testing.B) { benchSeg(b, CompileOptions{}, route.Resolve, "www.e199.example:443") })
	b.Run("linear", func(b *testing.B) { benchSeg(b, CompileOptions{NoIndex: true}, route.Resolve, "www.e199.example:443") })
}

func BenchmarkSegmentCIDRHit(b *testing.B) {
	b.Run("indexed", func(b *testing.B) { benchSeg(b, CompileOptions{}, route.Route, "10.199.3.4:443") })
	b.Run("linear", func(b *testing.B) { benchSeg(b, CompileOptions{NoIndex: true}, route.Route, "10.199.3.4:443") })
}

// TestIWRRCycleBelowOne: a cycle below 1 would loop forever (upstream
// too); the checker refuses it.
func TestIWRRCycleBelowOne(t *testing.T) {
	for _, c := range []string{"0.5", "0.999"} {
		src := "default => weighted cycle " + c + " { 1 direct; 2 reject }\n"
		if p, d := Check("w.nrt", []byte(src), CheckOptions{}); p != nil || !strings.Contains(d.Format(), "must be a number >= 1") {
			t.Errorf("cycle %s accepted: %s", c, d.Format())
		}
	}
	p, d := Check("w.nrt", []byte("default => weighted cycle 1 { 1 direct; 2 reject }\n"), CheckOptions{})
	if p == nil {
		t.Fatal(d.Format())
	}
	tb, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Step 1: r stays 0, so every entry is taken in turn.
	for i := 0; i < 10; i++ {
		want := []route.Verdict{route.Forward, route.Reject}[i%2]
		if d, _ := tb.Decide(context.Background(), route.Resolve, "a:1", route.Credentials{}, nil); d.Verdict != want {
			t.Fatalf("decision %d: %s, want verdict %v", i, FormatDecision(d), want)
		}
	}
}
