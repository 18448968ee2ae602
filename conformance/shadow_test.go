package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// TestShadowedNeverHit checks the shadowed-rule lint against the engine:
// on seeded random tables, no request of the stream ever selects a rule
// that `nrt check` reports as shadowed, and the lint fires often enough
// for that to mean something.
func TestShadowedNeverHit(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 15
	}
	warned := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		name := fmt.Sprintf("random%d.nrt", seed)
		src := []byte(RandomRuleset(seed))
		p, d := dsl.Check(name, src, dsl.CheckOptions{})
		if p == nil {
			t.Fatalf("invalid table:\n%s", d.Errors().Format())
		}
		var shadowed []string
		for _, x := range d.List {
			if strings.Contains(x.Msg, "rule shadowed") {
				shadowed = append(shadowed, fmt.Sprintf("%s:%d:%d", x.Pos.Filename, x.Pos.Line, x.Pos.Column))
			}
		}
		if len(shadowed) == 0 {
			continue
		}
		warned += len(shadowed)
		lits := LiteralsOf(p)
		for _, w := range worldsFor(p, lits, seed, false) {
			cov, err := CoverageOf(p, w, Generate(lits, seed, 300))
			if err != nil {
				t.Fatal(err)
			}
			for _, pos := range shadowed {
				if !slices.ContainsFunc(cov.NeverHit, func(s string) bool { return strings.HasPrefix(s, pos+" ") }) {
					t.Errorf("%s: rule %s is reported shadowed but a request selected it\n%s", name, pos, src)
				}
			}
		}
	}
	if warned < n/2 {
		t.Errorf("only %d shadowed rules in %d tables: the check means little", warned, n)
	}
	t.Logf("%d shadowed rules in %d random tables, none selected", warned, n)
}
