package conformance

import (
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// missedTable is a hand-written table in the spirit of the one the
// conformance issue was found with: each rule mixes a name with a port or
// a pattern, the places a reviewer misses a one-character change.
const missedTable = `upstream gw = "socks5://gw.lan:1080"
redirect_name {
    host one.test and port 443           => direct tag one
    host app.test and port 1000-2000     => proxy gw tag app
    host two.test                        => redirect 10.0.0.2:80 tag two
    regex ` + "`^api\\.example:`" + `             => reject tag api
    pattern "^[%w-]+%.onion:%d+$"         => proxy gw tag onion
}
default => direct
`

// TestMissedDifferences: the streams of `nrt conform` tell the table from
// each Lua twin that differs in one place the issue lists (port range
// edges in a host rule, host written as domain, a regex that lost its ^,
// a Lua pattern's %d+ written %d), and agree with the faithful twin.
func TestMissedDifferences(t *testing.T) {
	p, d := dsl.Check("missed.nrt", []byte(missedTable), dsl.CheckOptions{})
	if p == nil {
		t.Fatal(d.Format())
	}
	twin := dsl.Translate(p)
	for _, tc := range []struct {
		name, from, to string
	}{
		{"faithful", "", ""},
		{"range end +1", "match.port(1000, 2000)", "match.port(1000, 2001)"},
		{"range start -1", "match.port(1000, 2000)", "match.port(999, 2000)"},
		{"range start +1", "match.port(1000, 2000)", "match.port(1001, 2000)"},
		{"host as domain", `match.host({ "two.test" })`, `match.domain({ "two.test" })`},
		{"regex lost ^", `"^api\\.example:"`, `"api\\.example:"`},
		{"pattern %d+ as %d", `"^[%w-]+%.onion:%d+$"`, `"^[%w-]+%.onion:%d$"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lua := twin
			if tc.from != "" {
				if !strings.Contains(lua, tc.from) {
					t.Fatalf("the translation has no %s:\n%s", tc.from, lua)
				}
				lua = strings.Replace(lua, tc.from, tc.to, 1)
			}
			lits := LiteralsOf(p)
			lits.Merge(LuaLiterals([]byte(lua)))
			stream := Generate(lits, 1, 2000)
			var found *Mismatch
			for _, w := range worldsFor(p, lits, 1, false) {
				g, err := NewGoEngine(p, Indexed, w)
				if err != nil {
					t.Fatal(err)
				}
				l, err := NewLuaEngine("L", []byte(lua), "@twin.lua", LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
				if err != nil {
					t.Fatal(err)
				}
				found = Run([]Engine{g, l}, stream)
				l.Close()
				if found != nil {
					break
				}
			}
			switch {
			case tc.from == "" && found != nil:
				t.Errorf("the faithful twin differs: %v", found)
			case tc.from != "" && found == nil:
				t.Errorf("%d requests did not tell %s from the table", len(stream), tc.to)
			}
		})
	}
}
