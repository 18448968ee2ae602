package conformance

import (
	"slices"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/lpattern"
)

// patternFinds reports whether Lua pattern p matches somewhere in s on
// core/lpattern, the matcher under both engines (the Lua string library
// and the route table's pattern rules).
func patternFinds(p, s string) (bool, error) {
	var m lpattern.Matcher
	m.Reset(s, p)
	pi, anchor := 0, len(p) > 0 && p[0] == '^'
	if anchor {
		pi = 1
	}
	start, _, err := m.Scan(0, pi, anchor)
	return start >= 0, err
}

// TestPatternWitnesses checks the witnesses against core/lpattern, the
// matcher both engines use.
func TestPatternWitnesses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		match   []string
		near    []string
	}{
		{"onion", `^[%w-]+%.onion:%d+$`, []string{"a.onion:0", "a.onion:00"}, []string{"xa.onion:0", "a.onion:0x", "a.onion:"}},
		{"digits", `:%d+$`, []string{":0", ":00"}, []string{":"}},
		{"optional", `%.com%.?:`, []string{".com:", ".com.:"}, []string{".com..:"}},
		{"lazy", `^a.-b$`, []string{"ab", "aab"}, nil},
		{"balance", `%b()x`, []string{"()x"}, nil},
		{"negated set", `^[^:]+:`, []string{"a:"}, []string{":"}},
		{"class complement", `^%D+$`, []string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, n := PatternWitnesses(tc.pattern)
			for _, s := range m {
				if ok, err := patternFinds(tc.pattern, s); err != nil || !ok {
					t.Errorf("witness %q is not found by %q (%v)", s, tc.pattern, err)
				}
			}
			for _, w := range tc.match {
				if !slices.Contains(m, w) {
					t.Errorf("matches %q lack %q", m, w)
				}
			}
			for _, w := range tc.near {
				if !slices.Contains(n, w) {
					t.Errorf("near misses %q lack %q", n, w)
				}
			}
		})
	}
	if m, n := PatternWitnesses("[a-"); m != nil || n != nil {
		t.Errorf("a malformed pattern gave %q %q", m, n)
	}
}

// FuzzPatternWitnesses: for any pattern core/lpattern accepts, the match
// witnesses are found by it (frontiers and back-references excepted), and
// nothing panics.
func FuzzPatternWitnesses(f *testing.F) {
	for _, s := range []string{`^www%.`, `example`, `%.lan:%d+$`, `:443$`, `^[%w-]+%.test:`, `^(.*):(%d+)$`, `%b[]`, `[^%s]-x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		m, n := PatternWitnesses(p)
		if len(m) > 24 || len(n) > 24 {
			t.Fatalf("%d matches, %d near misses", len(m), len(n))
		}
		if len(p) > 40 {
			return // backtracking is exponential on long runs of '?'
		}
		if lpattern.Check(p) != nil {
			return
		}
		items, _, _, err := parseLuaPattern(p)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.kind == 'f' || it.kind == 'r' || it.kind == '(' {
				return
			}
		}
		for _, s := range m {
			if ok, err := patternFinds(p, s); err == nil && !ok {
				t.Fatalf("witness %q is not found by %q", s, p)
			}
		}
	})
}
