package ere

import (
	"strings"
	"testing"
)

func TestWitnesses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		match   []string // must be among the matches
		near    []string // must be among the near misses
	}{
		{"anchors", `^a\.example:443$`, []string{"a.example:443"}, []string{"xa.example:443", "a.example:443x"}},
		{"plus", `^x[0-9]+$`, []string{"x0", "x00", "x000"}, []string{"x"}},
		{"optional", `^ab?c$`, []string{"ac", "abc"}, []string{"abbc"}},
		{"alternation", `:(80|443)$`, []string{":80", ":443"}, []string{"x:80", ":80x"}},
		{"interval", `^a{2,3}$`, []string{"aa", "aaa"}, []string{"a", "aaaa"}},
		{"star group", `^([a-z0-9-]+\.)*s3\.example:443$`, []string{"s3.example:443", "a.s3.example:443"}, nil},
		{"backref", `^(ab)\1$`, []string{"abab"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := Compile(tc.pattern, Extended|Newline)
			if err != nil {
				t.Fatal(err)
			}
			m, n, err := Witnesses(tc.pattern, Extended|Newline)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range m {
				if ok, err := re.MatchString(s); !ok || err != nil {
					t.Errorf("witness %q does not match %q", s, tc.pattern)
				}
			}
			for _, want := range tc.match {
				if !contains(m, want) {
					t.Errorf("matches %q lack %q", m, want)
				}
			}
			for _, want := range tc.near {
				if !contains(n, want) {
					t.Errorf("near misses %q lack %q", n, want)
				}
			}
			if len(m) > maxWitnesses || len(n) > maxWitnesses {
				t.Errorf("%d matches, %d near misses: over the bound", len(m), len(n))
			}
		})
	}
	if _, _, err := Witnesses(`a(`, Extended); err == nil {
		t.Error("an invalid pattern gave witnesses")
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzWitnesses checks that every match witness of a pattern without
// anchors or back-references inside matches it, and that the lists stay
// bounded.
func FuzzWitnesses(f *testing.F) {
	for _, s := range []string{`^a\.`, `example\.com:80$`, `\.lan:[0-9]+$`, `^[a-z]+\.test`, `:(80|443)$`, `a{2,5}b?`, `(x|y)*z+`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		re, err := Compile(pattern, Extended|Newline)
		m, n, werr := Witnesses(pattern, Extended|Newline)
		if (err == nil) != (werr == nil) {
			t.Fatalf("Compile error %v, Witnesses error %v", err, werr)
		}
		if err != nil {
			return
		}
		if len(m) > maxWitnesses || len(n) > maxWitnesses {
			t.Fatalf("%d matches, %d near misses", len(m), len(n))
		}
		if strings.ContainsAny(pattern, "^$\\\n") {
			return // anchors, escapes (word anchors, back-references) and lines may be unsatisfiable by one choice
		}
		for _, s := range m {
			if ok, err := re.MatchString(s); !ok && err == nil {
				t.Fatalf("witness %q does not match %q", s, pattern)
			}
		}
	})
}
