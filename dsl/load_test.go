package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// heavyTable writes a route table shaped like the benchmark's heavy one
// (nsbench rulesetgen -form table): inline sets of n names, n/10
// host:port pairs and n/10 CIDRs, the rules that use them and a test
// block. The names are made by a fixed generator, so every run loads the
// same text.
func heavyTable(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	x := uint32(1)
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		var w [12]byte
		x = x*1664525 + 1013904223
		l := 3 + int(x>>28)%8
		for i := 0; i < l; i++ {
			x = x*1664525 + 1013904223
			w[i] = letters[int(x>>24)%len(letters)]
		}
		return string(w[:l])
	}
	tlds := []string{"com", "net", "org", "io", "dev", "test", "lan", "internal", "example", "invalid"}
	name := func(i int) string {
		parts := []string{word()}
		for j := 0; j < i%3; j++ {
			parts = append(parts, word())
		}
		return fmt.Sprintf("%s%d.%s", strings.Join(parts, "."), i, tlds[i%len(tlds)])
	}
	b.WriteString("# a generated heavy route table\nset bench_domains domain {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    %s,\n", name(i))
	}
	b.WriteString("}\nset bench_exact exact {\n")
	for i := 0; i < n/10; i++ {
		fmt.Fprintf(&b, "    %s:%d,\n", name(n+i), 1024+i)
	}
	b.WriteString("}\nset bench_subnets cidr {\n")
	for i := 0; i < n/10; i++ {
		fmt.Fprintf(&b, "    %d.%d.%d.0/24,\n", 1+i>>16&0x7f, i>>8&0xff, i&0xff)
	}
	b.WriteString(`}
redirect_name {
    in bench_domains => reject
    in bench_exact => reject
    host localhost => redirect host 127.0.0.1
}
route {
    in bench_subnets => reject
    cidr 127.0.0.0/8 => direct
}
route6 {
    cidr ::1/128 => direct
}
default => reject
test "sink" {
    "localhost:19000" => to "127.0.0.1:19000"
    "[::1]:19002" => to "[::1]:19002"
`)
	fmt.Fprintf(&b, "    %q => reject\n}\n", name(0)+":443")
	path := filepath.Join(tb.TempDir(), "heavy.nrt")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkLoadFile loads the heavy table (10 000 names, 1 000 host:port
// pairs, 1 000 CIDRs) from its file: read, parse, check and compile.
func BenchmarkLoadFile(b *testing.B) {
	path := heavyTable(b, 10000)
	parser.get() // built once per process, not per load
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadFile(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// loadAlloc returns the bytes a load of path allocates and the heap a
// collection right after it leaves live.
func loadAlloc(t *testing.T, path string) (total, live uint64) {
	t.Helper()
	parser.get()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e, err := LoadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	runtime.GC()
	var kept runtime.MemStats
	runtime.ReadMemStats(&kept)
	runtime.KeepAlive(e)
	return after.TotalAlloc - before.TotalAlloc, kept.HeapAlloc - before.HeapAlloc
}
