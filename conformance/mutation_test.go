package conformance

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// mutationTally counts what became of the mutants of some tables.
type mutationTally struct {
	mutants, invalid, killed, equivalent, shadowed int
	proven                                         map[string]int // other proofs of equivalence, by kind
}

func (m *mutationTally) add(o mutationTally) {
	m.mutants += o.mutants
	m.invalid += o.invalid
	m.killed += o.killed
	m.equivalent += o.equivalent
	m.shadowed += o.shadowed
	for k, v := range o.proven {
		if m.proven == nil {
			m.proven = map[string]int{}
		}
		m.proven[k] += v
	}
}

func (m mutationTally) String() string {
	s := fmt.Sprintf("%d mutants (%d invalid skipped): %d killed, %d proven equivalent by enumeration, %d shadowed (nrt check warns)",
		m.mutants, m.invalid, m.killed, m.equivalent, m.shadowed)
	for _, k := range mapKeysInt(m.proven) {
		s += fmt.Sprintf(", %d %s", m.proven[k], k)
	}
	return s
}

// TestMutants checks that the request streams tell a table from each of
// its one-literal mutants: the translation of the original table runs on
// the Lua engine against every mutant on the compiled engine, as
// `nrt conform --dsl mutant.nrt --lua original.lua` would. A mutant the
// streams do not kill must be proven equivalent by the suite itself:
// decided alike on one request per class of the partition (PartitionOf)
// of a table without regex, pattern or loopback, or sitting in a rule that
// `nrt check` reports as shadowed. Any other survivor fails the test.
func TestMutants(t *testing.T) {
	sz := suiteSizes()
	var total mutationTally
	files, _ := filepath.Glob("../dsl/testdata/ex*.nrt")
	if len(files) < 4 {
		t.Fatalf("examples missing: %v", files)
	}
	for _, f := range files {
		src, p := checkFile(t, f)
		tl := runMutants(t, f, src, p, checkOpts(filepath.Dir(f)), 1, sz.fixed)
		t.Logf("%s: %s", filepath.Base(f), tl)
		total.add(tl)
	}
	n := 12
	if testing.Short() {
		n = 2
	}
	var random mutationTally
	for seed := uint64(1); seed <= uint64(n); seed++ {
		src := []byte(RandomRegexFreeRuleset(seed + 1000))
		name := fmt.Sprintf("random%d.nrt", seed+1000)
		p, d := dsl.Check(name, src, dsl.CheckOptions{})
		if p == nil {
			t.Fatalf("generator made an invalid table:\n%s", d.Errors().Format())
		}
		random.add(runMutants(t, name, src, p, dsl.CheckOptions{}, seed, sz.requests))
	}
	t.Logf("%d random tables: %s", n, random)
	total.add(random)
	t.Logf("total: %s", total)
	if total.killed == 0 || total.mutants-total.invalid < 200 {
		t.Errorf("too few mutants: %s", total)
	}
}

// runMutants runs the original's translation against every mutant of
// src and explains every survivor. To keep the run short, the Lua side's
// outcomes on the stream of the original's literals (and its Lua
// translation's) are recorded once per world and replayed against each
// mutant; only a mutant that stream does not kill gets the stream
// `nrt conform` would build from the mutant's own literals, run on both
// engines.
func runMutants(t *testing.T, name string, src []byte, orig *dsl.Program, o dsl.CheckOptions, seed uint64, size int) mutationTally {
	t.Helper()
	tl := mutationTally{proven: map[string]int{}}
	ms, err := dsl.Mutants(name, src)
	if err != nil {
		t.Fatal(err)
	}
	lua := []byte(dsl.Translate(orig))
	luaLits := LuaLiterals(lua)
	_, origDiag := dsl.Check(name, src, o)
	baseLits := LiteralsOf(orig)
	baseLits.Merge(luaLits)
	base := Generate(baseLits, seed, size)
	// The worlds hold every user of the original; the mutants' DNS
	// answers are those of the original's literals.
	worlds := worldsFor(orig, baseLits, seed, orig.HasUsers)
	replays := make([]*replayEngine, len(worlds))
	for i, w := range worlds {
		replays[i] = recordLua(t, lua, w, base)
	}
	for _, m := range ms {
		tl.mutants++
		mp, md := dsl.Check(name, m.Src, o)
		if mp == nil {
			tl.invalid++
			continue
		}
		why := ""
		if shadowed(origDiag, m) && shadowed(md, m) {
			why = "shadowed"
		} else {
			why = provenEquivalent(orig, mp, m)
		}
		killedBase := false
		for i, w := range worlds {
			g, err := NewGoEngine(mp, Indexed, w)
			if err != nil {
				t.Fatal(err)
			}
			if mm := Run([]Engine{replays[i], g}, base); mm != nil {
				if why != "" {
					t.Errorf("%s:%d:%d: mutant %q was proven equivalent (%s), yet differs:\n%v", name, m.Pos.Line, m.Pos.Column, m.Desc, why, mm)
				}
				killedBase = true
				break
			}
		}
		switch {
		case killedBase:
			tl.killed++
			continue
		case why == "shadowed":
			tl.shadowed++
			continue
		case why != "":
			tl.proven[why]++
			continue
		}
		// Equivalent mutants cannot be killed: try the proof first, on
		// the compiled engine, and build the mutant's own stream only
		// when the partition finds a difference.
		lits := LiteralsOf(mp)
		lits.Merge(luaLits)
		mworlds := worldsFor(mp, lits, seed, orig.HasUsers)
		part := PartitionOf([]*dsl.Program{orig, mp}, mapKeys(mworlds[0].DNS))
		diff := goMismatch(t, orig, mp, mworlds, part.Reps)
		if diff == nil && part.Exact() {
			tl.equivalent++
			continue
		}
		if firstMismatch(t, mp, lua, mworlds, Generate(lits, seed, size)) != nil {
			tl.killed++
			continue
		}
		if diff != nil {
			t.Errorf("%s:%d:%d: the streams missed mutant %q (%s), which the enumeration tells apart:\n%v",
				name, m.Pos.Line, m.Pos.Column, m.Desc, m.Op, diff)
			continue
		}
		t.Errorf("%s:%d:%d: unexplained survivor %q (%s): the partition is not exact (%s)\n%s",
			name, m.Pos.Line, m.Pos.Column, m.Desc, m.Op, strings.Join(part.Inexact, ", "), m.Src)
		continue
	}
	return tl
}

// replayEngine answers a stream with outcomes recorded from another
// engine on the same stream, in order.
type replayEngine struct {
	outs []Outcome
	i    int
}

func (e *replayEngine) Name() string { return "L" }
func (e *replayEngine) Reset() error { e.i = 0; return nil }
func (e *replayEngine) Decide(r Request) (Outcome, error) {
	if e.i >= len(e.outs) {
		return Outcome{}, fmt.Errorf("replay: request %d past the recording", e.i)
	}
	e.i++
	return e.outs[e.i-1], nil
}

// recordLua runs the Lua ruleset on the stream in world w and records
// its outcomes.
func recordLua(t *testing.T, lua []byte, w World, stream []Request) *replayEngine {
	t.Helper()
	l, err := NewLuaEngine("L", lua, "@original.lua", LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := &replayEngine{}
	for _, r := range stream {
		out, err := l.Decide(r)
		if err != nil {
			t.Fatal(err)
		}
		rec.outs = append(rec.outs, out)
	}
	return rec
}

// goMismatch compares the original and the mutant on the compiled engine.
func goMismatch(t *testing.T, orig, mp *dsl.Program, worlds []World, stream []Request) *Mismatch {
	t.Helper()
	for _, w := range worlds {
		a, err := NewGoEngine(orig, Indexed, w)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewGoEngine(mp, Indexed, w)
		if err != nil {
			t.Fatal(err)
		}
		if m := Run([]Engine{a, b}, stream); m != nil {
			return m
		}
	}
	return nil
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// firstMismatch runs the mutant mp against the original's translation lua
// on the stream in each world and returns the first difference.
func firstMismatch(t *testing.T, mp *dsl.Program, lua []byte, worlds []World, stream []Request) *Mismatch {
	t.Helper()
	for _, w := range worlds {
		g, err := NewGoEngine(mp, Indexed, w)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLuaEngine("L", lua, "@original.lua", LuaOptions{AuthRequired: w.AuthRequired, Resolve: w.resolver()})
		if err != nil {
			t.Fatal(err)
		}
		m := Run([]Engine{g, l}, stream)
		l.Close()
		if m != nil {
			return m
		}
	}
	return nil
}

// shadowed reports whether the checker warned that the rule holding the
// mutation can never decide a request.
func shadowed(d *dsl.Diagnostics, m dsl.Mutant) bool {
	if d == nil {
		return false
	}
	for _, x := range d.List {
		if x.Pos.Filename == m.Pos.Filename && x.Pos.Line == m.Pos.Line &&
			(strings.Contains(x.Msg, "unreachable rule") || strings.Contains(x.Msg, "shadowed")) {
			return true
		}
	}
	return false
}

func mapKeysInt(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// provenEquivalent proves a mutant equivalent to its original by the
// rules it touches, whatever the rest of the table: two adjacent rules
// swapped that no address can both take (rulesDisjoint), or a change
// inside the last rule of route/route6 when it only hands the request to
// the default (action `default`, no tag), which is what not matching does.
// It returns the kind of proof or "".
func provenEquivalent(orig, mp *dsl.Program, m dsl.Mutant) string {
	if m.Op == "swap" {
		ch, i, ip := ruleAt(orig, m.Pos.Line)
		if ch == nil || i+1 >= len(ch.Rules) {
			return ""
		}
		if ip && prefixesDisjoint(prefixesOf(ch.Rules[i].M), prefixesOf(ch.Rules[i+1].M)) || !ip && adjacentDisjoint(ch, i) {
			return "swaps of disjoint rules"
		}
		return ""
	}
	if noOpAt(orig, m.Pos.Line) && noOpAt(mp, m.Pos.Line) {
		return "changes inside rules that only pass on to the default"
	}
	return ""
}

// ruleAt finds the rule written at line of the main file: its chain, its
// index and whether the chain is an IP table.
func ruleAt(p *dsl.Program, line int) (*dsl.ChainIR, int, bool) {
	for k, t := range p.Tables {
		if t == nil {
			continue
		}
		for i, r := range t.Rules {
			if r.Pos.Line == line && r.Pos.Filename == p.Main {
				return t, i, dsl.TableKind(k) == dsl.TRoute || dsl.TableKind(k) == dsl.TRoute6
			}
		}
	}
	for _, ch := range p.Chains {
		for i, r := range ch.Rules {
			if r.Pos.Line == line && r.Pos.Filename == p.Main {
				return ch, i, false
			}
		}
	}
	return nil, 0, false
}

// noOpAt reports whether the rule at line is the last of route or route6
// and only passes the request on to the default, untagged: what not
// matching it does too.
func noOpAt(p *dsl.Program, line int) bool {
	ch, i, ip := ruleAt(p, line)
	if ch == nil || !ip || i != len(ch.Rules)-1 {
		return false
	}
	r := ch.Rules[i]
	return r.Call == nil && r.A != nil && r.A.Kind == dsl.ADefault && r.Tag == ""
}

// leafPrefixes returns the prefixes of a leaf whose literals are all
// prefixes; nil (every address) for any other leaf.
func leafPrefixes(m dsl.Leaf) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range m.Literals() {
		if x.Kind != dsl.LitPrefix {
			return nil
		}
		out = append(out, x.Prefix)
	}
	return out
}

// prefixesOf over-approximates the addresses an IP-table matcher takes;
// nil means every address.
func prefixesOf(m dsl.MatchIR) []netip.Prefix {
	switch m := m.(type) {
	case dsl.Leaf:
		return leafPrefixes(m)
	case *dsl.MSet:
		if m.Set.Dynamic() {
			return nil
		}
		var out []netip.Prefix
		for _, l := range m.Set.Leaves() {
			out = append(out, leafPrefixes(l)...)
		}
		return append(out, netip.Prefix{}) // marks "known, maybe empty"
	case *dsl.MAll:
		for _, x := range m.Xs {
			if ps := prefixesOf(x); ps != nil {
				return ps
			}
		}
	case *dsl.MAnyOf:
		var out []netip.Prefix
		for _, x := range m.Xs {
			ps := prefixesOf(x)
			if ps == nil {
				return nil
			}
			out = append(out, ps...)
		}
		return out
	}
	return nil
}

func prefixesDisjoint(a, b []netip.Prefix) bool {
	if a == nil || b == nil {
		return false
	}
	for _, p := range a {
		for _, q := range b {
			if p.IsValid() && q.IsValid() && p.Overlaps(q) {
				return false
			}
		}
	}
	return true
}
