package rulesetgen

import (
	"io"
	"testing"
)

// BenchmarkGenerate writes the default-sized ruleset (10 000 names, 1 000
// prefixes) in both languages.
func BenchmarkGenerate(b *testing.B) {
	for _, form := range []Form{FormLinear, FormTable} {
		b.Run(string(form), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := Generate(Options{Seed: 1, Domains: 10000, Subnets: 1000, Form: form, SinkHost: "localhost"})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.WriteLua(io.Discard); err != nil {
					b.Fatal(err)
				}
				if err := r.WriteNRT(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
