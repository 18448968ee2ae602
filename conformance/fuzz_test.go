package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// FuzzConformance fuzzes a route table's source and one request together:
// G, G0, GT and L must decide the request (and a short stream from the
// table's literals) alike. A source that does not check is replaced by the
// random table of the fuzzed seed, so that mutations of the seed explore
// valid tables too.
func FuzzConformance(f *testing.F) {
	files, _ := filepath.Glob("testdata/constructs/*.nrt")
	addrs := []string{"a.example:80", "10.0.0.1:80", "[2001:db8::1]:443", "server.lan:22", "x.new.example:443", "bad", "[::1]:"}
	for i, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), uint64(i), addrs[i%len(addrs)], uint8(i%3), i%2 == 0)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		f.Add("", seed, addrs[seed%uint64(len(addrs))], uint8(seed%3), false)
	}
	f.Fuzz(func(t *testing.T, src string, seed uint64, a string, cb uint8, auth bool) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("slow input (%v): %q %q", d, src, a)
			}
		}()
		opts := dsl.CheckOptions{
			ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
			Getenv:   func(string) (string, bool) { return "x", true },
		}
		p, _ := dsl.Check("fuzz.nrt", []byte(src), opts)
		if p == nil {
			src = RandomRuleset(seed)
			if p, _ = dsl.Check("fuzz.nrt", []byte(src), opts); p == nil {
				t.Fatalf("the generator made an invalid table for seed %d:\n%s", seed, src)
			}
		}
		lits := LiteralsOf(p)
		w := World{AuthRequired: auth, DNS: MakeDNS(lits, 1)}
		r := Request{Callback: route.Callback(cb % 3), Addr: a}
		stream := append([]Request{r, r}, Generate(lits, 1, 20)...)
		es, l, err := Engines(p, w)
		if err != nil {
			t.Fatalf("engines: %v\n%s", err, dsl.Translate(p))
		}
		defer l.Close()
		if m := Run(es, stream); m != nil {
			t.Fatalf("%v\nsource:\n%s", m, src)
		}
	})
}
