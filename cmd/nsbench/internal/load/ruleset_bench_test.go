package load

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/rulesetgen"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/script"
)

// BenchmarkSetupRuleset is BenchmarkSetup's SOCKS5 cycle (by IP and by
// name) with each engine the ruleset rows of the README's Performance
// section compare, loaded as the daemon loads them: none; a Lua ruleset
// that passes every address through (trivial); the libruleset table
// ruleset of `nsbench rulesetgen -form table` (10 000 names, 1 000
// prefixes; lua_table); and the same rules as a route table (nrt_table).
// A row minus none is what its ruleset costs a set-up. allocs/op does
// not depend on the machine's load; ns/op does (cmd/nsbench/
// EXPERIMENTS.md has instruction counts per set-up):
//
//	go test -run '^$' -bench SetupRuleset -benchmem ./cmd/nsbench/internal/load
func BenchmarkSetupRuleset(b *testing.B) {
	dir := b.TempDir()
	rules, err := rulesetgen.Generate(rulesetgen.Options{Seed: 1, Domains: 10000, Subnets: 1000, Form: rulesetgen.FormTable, SinkHost: "localhost"})
	if err != nil {
		b.Fatal(err)
	}
	luaPath, nrtPath := filepath.Join(dir, "table.lua"), filepath.Join(dir, "table.nrt")
	writeRules(b, luaPath, rules.WriteLua)
	writeRules(b, nrtPath, rules.WriteNRT)
	trivialPath := filepath.Join(dir, "trivial.lua")
	if err := os.WriteFile(trivialPath, []byte("local function pass(addr) return addr end\nreturn { resolve = pass, route = pass, route6 = pass }\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	engines := []struct {
		name string
		load func(b *testing.B) route.Router
	}{
		{"none", func(*testing.B) route.Router { return nil }},
		{"trivial", func(b *testing.B) route.Router { return luaEngine(b, trivialPath) }},
		{"lua_table", func(b *testing.B) route.Router { return luaEngine(b, luaPath) }},
		{"nrt_table", func(b *testing.B) route.Router {
			t, err := dsl.LoadFile(nrtPath, dsl.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return t
		}},
	}
	port := startSinkTB(b)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			socksAddr, httpAddr := startDaemonTB(b, e.load(b))
			for _, p := range []Proto{SOCKS5IP, SOCKS5Host} {
				b.Run(string(p), func(b *testing.B) {
					benchSetupCycles(b, newClientTB(b, p, socksAddr, httpAddr, port))
				})
			}
		})
	}
}

func writeRules(b *testing.B, path string, write func(w io.Writer) error) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := write(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// luaEngine loads a ruleset file into a Lua engine as -r does. Its
// budgets are long enough for a run under callgrind, which is some fifty
// times slower: the budget's poll before every Lua instruction is the
// same whatever its length.
func luaEngine(b *testing.B, path string) *script.Engine {
	b.Helper()
	c := config.Default()
	e, err := script.New(script.Options{Config: &c, Budget: time.Minute, LoadBudget: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	if err := e.LoadRuleset(path); err != nil {
		b.Fatal(err)
	}
	return e
}
