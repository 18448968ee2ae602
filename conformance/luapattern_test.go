package conformance

import (
	"slices"
	"testing"

	"github.com/yuin/gopher-lua/pm"
)

// TestPatternWitnesses checks the witnesses against gopher-lua's own
// matcher (the one both engines use).
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
				got, err := pm.Find(tc.pattern, []byte(s), 0, 1)
				if err != nil || len(got) == 0 {
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

// FuzzPatternWitnesses: for any pattern gopher-lua accepts, the match
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
			return // gopher-lua's matcher backtracks exponentially on long runs of '?'
		}
		if _, err := pm.Find(p, nil, 0, 1); err != nil {
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
			if got, err := pm.Find(p, []byte(s), 0, 1); err == nil && len(got) == 0 {
				t.Fatalf("witness %q is not found by %q", s, p)
			}
		}
	})
}
