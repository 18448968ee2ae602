package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/neosocksd-go/neosocksd/conformance"
	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/stdlib"
)

// conform compares a route table with a Lua ruleset on requests generated
// from the literals of both files (plus --requests), in order, with fresh
// load-balancer state, with authentication off and, when the table has
// users or --auth-required is given, on. When they agree it reports the
// stream's coverage of the table's rules (with authentication off): rules
// no request selected, and rules no request reached without matching;
// --min-coverage fails the run when too few rules were hit. With --prove
// it first tries to decide equivalence exactly (conformance.Prove) and
// falls back to the streams only when a matcher cannot be partitioned.
func conform(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("conform", stderr)
	dslFile := fs.String("dsl", "", "route table `file` (.nrt)")
	luaFile := fs.String("lua", "", "Lua ruleset `file` (returns a libruleset ruleset)")
	reqFile := fs.String("requests", "", "extra requests, one a line: [resolve|route|route6] \"addr\" [user \"u\"] [password \"p\"]")
	n := fs.Int("n", 2000, "number of generated requests per run")
	seed := fs.Uint64("seed", 1, "generator seed")
	authReq := fs.Bool("auth-required", false, "also compare with authentication required")
	dns := fs.String("dns", "", "fake resolver answers `name=ip,...` added to the generated ones")
	minCov := fs.Float64("min-coverage", 0, "fail when fewer than this `percent` of the table's rules are hit by a request")
	prove := fs.Bool("prove", false, "decide equivalence exactly on one request per class of the literals of both files; falls back to the streams when a matcher cannot be partitioned")
	if err := fs.Parse(args); err != nil || *dslFile == "" || *luaFile == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, "usage: nrt conform --dsl FILE.nrt --lua FILE.lua [--requests FILE] [-n N] [--seed S] [--auth-required] [--dns name=ip,...] [--min-coverage PERCENT] [--prove]\n")
		return 2
	}
	p, ok := load(*dslFile, stderr)
	if !ok {
		return 1
	}
	// the Lua file is read as the daemon reads -r (gzip, BOM, "#!" line)
	luaSrc, err := stdlib.ReadScript(*luaFile)
	if err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return 1
	}
	var extra []conformance.Request
	if *reqFile != "" {
		f, err := os.Open(*reqFile)
		if err != nil {
			fmt.Fprintf(stderr, "nrt: %v\n", err)
			return 1
		}
		extra, err = conformance.ReadStream(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "nrt: %s: %v\n", *reqFile, err)
			return 1
		}
	}
	lits := conformance.LiteralsOf(p)
	lits.Merge(conformance.LuaLiterals(luaSrc))
	for _, r := range extra {
		lits.Addrs = append(lits.Addrs, r.Addr)
	}
	answers := conformance.MakeDNS(lits, *seed)
	if *dns != "" {
		for _, kv := range strings.Split(*dns, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if _, err := netip.ParseAddr(v); !ok || err != nil {
				fmt.Fprintf(stderr, "nrt conform: bad --dns entry %q (want name=ip)\n", kv)
				return 2
			}
			answers[addr.Lower(k)] = v
		}
	}
	stream := append(extra, conformance.Generate(lits, *seed, *n)...)
	worlds := []conformance.World{{DNS: answers}}
	if p.HasUsers || *authReq {
		worlds = append(worlds, conformance.World{AuthRequired: true, DNS: answers})
	}
	if *prove {
		if code, done := proveConform(p, *dslFile, *luaFile, luaSrc, worlds, stdout, stderr); done {
			return code
		}
	}
	total := 0
	for _, w := range worlds {
		g, err := conformance.NewGoEngine(p, conformance.Indexed, w)
		if err != nil {
			fmt.Fprintf(stderr, "nrt: %v\n", err)
			return 1
		}
		l, err := conformance.NewLuaEngine(*luaFile, luaSrc, "@"+*luaFile, conformance.LuaOptions{AuthRequired: w.AuthRequired, Resolve: dsl.FakeResolver(w.DNS)})
		if err != nil {
			fmt.Fprintf(stderr, "nrt: %v\n", err)
			return 1
		}
		m := conformance.Run([]conformance.Engine{g, l}, stream)
		l.Close()
		if m != nil {
			fmt.Fprintf(stdout, "DIVERGENCE (auth_required=%v, seed %d) %v\n", w.AuthRequired, *seed, m)
			return 1
		}
		total += len(stream)
	}
	fmt.Fprintf(stdout, "%s and %s agree on %d requests\n", *dslFile, *luaFile, total)
	cov, err := conformance.CoverageOf(p, worlds[0], stream)
	if err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return 1
	}
	cov.Write(stdout)
	if cov.Percent() < *minCov {
		fmt.Fprintf(stdout, "FAIL coverage %.1f%% is below --min-coverage %g%%\n", cov.Percent(), *minCov)
		return 1
	}
	return 0
}

// proveConform runs conform --prove. It reports done=false when the
// request space cannot be partitioned exactly, after naming why, so that
// the caller falls back to the generated streams for the whole table.
func proveConform(p *dsl.Program, dslFile, luaFile string, luaSrc []byte, worlds []conformance.World, stdout, stderr io.Writer) (code int, done bool) {
	proof, err := conformance.Prove(p, luaSrc, "@"+luaFile, worlds)
	if err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return 1, true
	}
	if len(proof.Inexact) > 0 {
		fmt.Fprintf(stdout, "no proof: the request space cannot be partitioned exactly on:\n")
		for _, x := range proof.Inexact {
			fmt.Fprintf(stdout, "  %s\n", x)
		}
		fmt.Fprintf(stdout, "falling back to the generated streams for the whole table\n")
		return 0, false
	}
	if m := proof.Mismatch; m != nil {
		fmt.Fprintf(stdout, "DIFFERENT (proved, auth_required=%v): counterexample %v\n", proof.World.AuthRequired, m)
		return 1, true
	}
	fmt.Fprintf(stdout, "%s and %s: equal (proved): decided alike on %d representative requests in %d world(s)\n", dslFile, luaFile, proof.Classes, len(worlds))
	return 0, true
}
