package dsl

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// bigLists returns a domain list and a CIDR list of n entries each.
func bigLists(n int) (domains, cidrs string) {
	var d, c strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&d, "host%d.example%d.com\n", i, i%97)
		fmt.Fprintf(&c, "%d.%d.%d.0/24\n", 1+i>>16&0x7f, i>>8&0xff, i&0xff)
	}
	return d.String(), c.String()
}

func bigTable(b *testing.B, n int) *Table {
	b.Helper()
	domains, cidrs := bigLists(n)
	files := map[string]string{"domains.txt": domains, "cidrs.txt": cidrs}
	src := `set names domain from "domains.txt"
set nets cidr from "cidrs.txt"
redirect_name { in names => proxy "socks5://p:1" tag names }
route { in nets => direct tag nets }
`
	p, d := Check("big.nrt", []byte(src), CheckOptions{ReadFile: func(n string) ([]byte, error) { return []byte(files[n]), nil }})
	if p == nil {
		b.Fatal(d)
	}
	t, err := Compile(p)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func BenchmarkDecideDomainHit(b *testing.B) {
	t := bigTable(b, 100000)
	env := &Env{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := t.decide(context.Background(), route.Resolve, "www.host4242.example71.com:443", route.Credentials{}, env, discard)
		if d.Verdict != route.Forward {
			b.Fatal(FormatDecision(d))
		}
	}
}

func BenchmarkDecideCIDRHit(b *testing.B) {
	t := bigTable(b, 100000)
	env := &Env{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := t.decide(context.Background(), route.Route, "1.1.7.9:443", route.Credentials{}, env, discard)
		if d.Verdict != route.Forward {
			b.Fatal(FormatDecision(d))
		}
	}
}

func BenchmarkCompileList100k(b *testing.B) {
	domains, _ := bigLists(100000)
	src := `set names domain from "domains.txt"
redirect_name { in names => direct }
`
	read := func(string) ([]byte, error) { return []byte(domains), nil }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, d := Check("big.nrt", []byte(src), CheckOptions{ReadFile: read})
		if p == nil {
			b.Fatal(d)
		}
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerEntry reports the retained heap per list entry of a
// compiled 100 000-entry domain list plus a 100 000-entry CIDR list.
func BenchmarkMemoryPerEntry(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		t := bigTable(b, 100000)
		t.prog = nil // the engine keeps only the compiled form
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/200000, "B/entry")
		runtime.KeepAlive(t)
	}
}

func discard([]Event) {}
