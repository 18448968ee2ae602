package conformance

import (
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// TestPatternRulesAreLua54: a route table's pattern rules match as the
// Lua engine's string library does (Lua 5.4 patterns on core/lpattern),
// on the points where Lua 5.1's matcher differs: the %g class, and an
// escaped set member followed by '-'.
func TestPatternRulesAreLua54(t *testing.T) {
	for _, pat := range []string{`^%g+%.test:`, `^%G`, `^[%0-9]`} {
		t.Run(pat, func(t *testing.T) {
			src := "redirect_name {\n    pattern \"" + pat + "\" => reject tag p\n}\ndefault => direct\n"
			p, d := dsl.Check("p.nrt", []byte(src), dsl.CheckOptions{})
			if p == nil {
				t.Fatal(d.Format())
			}
			lits := LiteralsOf(p)
			stream := Generate(lits, 1, 500)
			for _, w := range worldsFor(p, lits, 1, false) {
				g, err := NewGoEngine(p, Indexed, w)
				if err != nil {
					t.Fatal(err)
				}
				l, err := NewLuaEngine("L", []byte(dsl.Translate(p)), "@twin.lua", LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
				if err != nil {
					t.Fatal(err)
				}
				found := Run([]Engine{g, l}, stream)
				l.Close()
				if found != nil {
					t.Fatalf("the table and its translation differ: %v", found)
				}
			}
		})
	}
}
