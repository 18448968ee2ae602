package conformance

import (
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// TestRulesDisjoint checks the disjointness prover on pairs whose answer
// is known, each "not disjoint" one with an address that both rules take
// (checked on the compiled engine), so that a wrong "disjoint" fails.
func TestRulesDisjoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a, b     string
		disjoint bool
		both     string // an address both rules match (when not disjoint)
	}{
		{"domains apart", "domain legacy.example", "domain new.example", true, ""},
		{"domain and subdomain", "domain example", "domain new.example", false, "new.example:80"},
		{"regex and domain", "regex `^([a-z0-9-]+\\.)*s3\\.example:443$`", "domain legacy.example", false, "s3.example:443\n:"}, // the domain rule fails on it
		{"regex and domain, one colon", "regex `^[a-z.]*s3\\.example:443`", "domain legacy.example", false, "s3.example:443:"},
		{"pattern and regex", `pattern "^[%w-]+%.onion:%d+$"`, "regex `^([a-z0-9-]+\\.)*s3\\.example:443$`", true, ""},
		{"pattern and keyword", `pattern "^[%w-]+%.onion:%d+$"`, `pattern "malware"`, false, "malware.onion:1"},
		{"domain and keyword", "domain corp.example", `pattern "malware"`, false, "malware.corp.example:80"},
		{"host and exact", "host a.test", "exact a.test:80", false, "a.test:80"},
		{"host and other exact", "host a.test", "exact b.test:80", true, ""},
		{"host errors where a regex matches", "host a.test", "regex `^nocolon$`", false, "nocolon"},
		{"exact and regex", "exact a.test:80", "regex `^b`", true, ""},
		{"and narrows", "host a.test and port 80", "host b.test", true, ""},
		{"anchored regexes", "regex `^a\\.`", "regex `^b\\.`", false, "b.\na.:1"}, // REG_NEWLINE: ^ after a newline
		{"anchored regexes, two lines", "regex `^a\\.[a-z]*:`", "regex `^b\\.[a-z]*:`", false, "b.:\na.:"},
		{"unanchored regexes", "regex `a\\.`", "regex `b\\.`", false, "b.a.:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "redirect_name {\n    " + tc.a + " => reject tag a\n    " + tc.b + " => direct tag b\n}\n"
			p, d := dsl.Check("d.nrt", []byte(src), dsl.CheckOptions{})
			if p == nil {
				t.Fatal(d.Format())
			}
			rs := p.Tables[dsl.TRedirectName].Rules
			if got := rulesDisjoint(rs[0].M, rs[1].M); got != tc.disjoint {
				t.Errorf("rulesDisjoint = %v, want %v", got, tc.disjoint)
			}
			w, found := overlapWitness(rs[0].M, rs[1].M)
			if found == tc.disjoint {
				t.Errorf("overlapWitness found %v (%q), want %v", found, w, !tc.disjoint)
			}
			if tc.both == "" {
				return
			}
			// The witness really is taken by both (each alone first).
			for _, order := range []string{tc.a + " => reject tag a\n", tc.b + " => reject tag a\n"} {
				for _, addr := range []string{tc.both, w} {
					q, _ := dsl.Check("o.nrt", []byte("redirect_name {\n    "+order+"}\n"), dsl.CheckOptions{})
					g, err := NewGoEngine(q, Indexed, World{})
					if err != nil {
						t.Fatal(err)
					}
					out, _ := g.Decide(Request{Callback: route.Resolve, Addr: addr})
					if len(out.Events) == 0 && out.Verdict != route.Error {
						t.Errorf("%q is not taken by %s: %s", addr, order, out)
					}
				}
			}
		})
	}
}
