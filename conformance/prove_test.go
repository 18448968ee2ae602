package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// proveFiles runs Prove on a route table and a Lua file as
// `nrt conform --prove` does (worlds from the literals of both, seed 1).
func proveFiles(t *testing.T, nrt string, luaSrc []byte) Proof {
	t.Helper()
	_, p := checkFile(t, nrt)
	lits := LiteralsOf(p)
	lits.Merge(LuaLiterals(luaSrc))
	proof, err := Prove(p, luaSrc, "@twin.lua", worldsFor(p, lits, 1, false))
	if err != nil {
		t.Fatal(err)
	}
	return proof
}

// TestProveExamples: the hand-written pairs and the regex-free translated
// examples prove equal; a twin with one difference gets a counterexample;
// a ruleset with a regex names it and proves nothing.
func TestProveExamples(t *testing.T) {
	read := func(f string) []byte {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	equal := map[string][]byte{
		"../cmd/nrt/testdata/conform/rules.nrt": read("../cmd/nrt/testdata/conform/agree.lua"),
		"../cmd/neosocksd/examples/minimal.nrt": read("../cmd/neosocksd/examples/minimal.lua"),
	}
	for _, f := range []string{"ex1", "ex2", "ex3"} {
		nrt := "../dsl/testdata/" + f + ".nrt"
		_, p := checkFile(t, nrt)
		equal[nrt] = []byte(dsl.Translate(p))
	}
	for nrt, lua := range equal {
		if proof := proveFiles(t, nrt, lua); !proof.Equal() {
			t.Errorf("%s: want equal (proved), got inexact %q, mismatch %v", nrt, proof.Inexact, proof.Mismatch)
		} else if proof.Classes < 50 {
			t.Errorf("%s: only %d representatives", nrt, proof.Classes)
		}
	}
	proof := proveFiles(t, "../cmd/nrt/testdata/conform/rules.nrt", read("../cmd/nrt/testdata/conform/differ.lua"))
	if len(proof.Inexact) > 0 || proof.Mismatch == nil {
		t.Errorf("differ.lua: want a counterexample, got inexact %q", proof.Inexact)
	}
	proof = proveFiles(t, "../cmd/neosocksd/examples/full.nrt", read("../cmd/neosocksd/examples/full.lua"))
	if want := `regex "^ads[0-9]*\\.example\\.(com|net):"`; len(proof.Inexact) != 1 || proof.Inexact[0] != want {
		t.Errorf("full.lua: inexact = %q, want [%s]", proof.Inexact, want)
	}
}

// TestProveLuaOnly: what only the Lua side has is read back from the
// provenance records: its literals bound classes (a port range edge only
// Lua has), and hand-written functions are named, not trusted.
func TestProveLuaOnly(t *testing.T) {
	dir := t.TempDir()
	nrt := filepath.Join(dir, "t.nrt")
	if err := os.WriteFile(nrt, []byte("redirect_name {\n    host a.test and port 1000-2000 => reject\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	twin := func(port, extra string) []byte {
		return []byte(`local ruleset = require("libruleset")
_G.redirect_name = {
    { composite.allof({ match.host("a.test"), match.port(` + port + `) }), rule.reject() },` + extra + `
}
return ruleset
`)
	}
	if p := proveFiles(t, nrt, twin("1000, 2000", "")); !p.Equal() {
		t.Errorf("twin: want equal, got %q %v", p.Inexact, p.Mismatch)
	}
	for _, port := range []string{"1000, 2001", "999, 2000", "1001, 2000", "1000, 1999"} {
		p := proveFiles(t, nrt, twin(port, ""))
		if len(p.Inexact) > 0 || p.Mismatch == nil {
			t.Errorf("port %s: want a counterexample, got inexact %q", port, p.Inexact)
		}
	}
	// A name only the Lua side builds (out of the reach of the source
	// scan LuaLiterals does) still gets its own class.
	p := proveFiles(t, nrt, twin("1000, 2000", "\n    { match.host(\"b\" .. \".test\"), rule.reject() },"))
	if len(p.Inexact) > 0 || p.Mismatch == nil || !strings.Contains(p.Mismatch.Request.Addr, "b.test") {
		t.Errorf("extra Lua rule: want a counterexample on b.test, got inexact %q, mismatch %v", p.Inexact, p.Mismatch)
	}
	p = proveFiles(t, nrt, twin("1000, 2000", "\n    { function(addr) return false end, rule.direct() },"))
	if len(p.Inexact) != 1 || !strings.HasPrefix(p.Inexact[0], "a Lua function matcher (twin.lua:") {
		t.Errorf("function matcher: inexact = %q", p.Inexact)
	}
}

// TestProveMutants: on regex-free tables, --prove refutes exactly
// the mutants the mutation test kills and proves the others equal. The
// streams' verdict on a mutant (its own stream, as nrt conform builds it)
// is the reference: a stream mismatch is a real difference, and a mutant
// the streams cannot kill is one the mutation test proves equivalent (it
// fails otherwise). It runs every mutant of the regex-free examples ex1-ex3
// and every second mutant of one random table (-short: every eighth of the
// random table's only), to keep the package within its time budget.
func TestProveMutants(t *testing.T) {
	every := 2
	if testing.Short() {
		every = 8
	}
	var tally proveTally
	src := []byte(RandomRegexFreeRuleset(1001))
	tally.add(proveMutantsOf(t, "random1001.nrt", src, dsl.CheckOptions{}, 1001, every))
	if !testing.Short() {
		// every mutant of the regex-free examples
		for _, f := range []string{"ex1", "ex2", "ex3"} {
			nrt := "../dsl/testdata/" + f + ".nrt"
			src, _ := checkFile(t, nrt)
			tally.add(proveMutantsOf(t, nrt, src, checkOpts(filepath.Dir(nrt)), 1, 1))
		}
	}
	t.Logf("--prove on mutants: %d refuted, %d proved equal, %d not partitionable (loopback, rewrite)", tally.refuted, tally.proved, tally.inexact)
	if tally.refuted == 0 || tally.proved == 0 {
		t.Errorf("the sample is too thin: %d refuted, %d proved equal", tally.refuted, tally.proved)
	}
}

type proveTally struct{ refuted, proved, inexact int }

func (a *proveTally) add(b proveTally) {
	a.refuted += b.refuted
	a.proved += b.proved
	a.inexact += b.inexact
}

// proveMutantsOf proves every every-th mutant of the table src against the
// original's translation, and checks the verdict against the streams: a
// mutant they kill must be refuted, one they cannot tell apart proved
// equal.
func proveMutantsOf(t *testing.T, name string, src []byte, opts dsl.CheckOptions, seed uint64, every int) proveTally {
	t.Helper()
	var tally proveTally
	orig, d := dsl.Check(name, src, opts)
	if orig == nil {
		t.Fatalf("%s is not a valid table:\n%s", name, d.Errors().Format())
	}
	lua := []byte(dsl.Translate(orig))
	luaLits := LuaLiterals(lua)
	ms, err := dsl.Mutants(name, src)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if i%every != 0 {
			continue
		}
		mp, _ := dsl.Check(name, m.Src, opts)
		if mp == nil {
			continue
		}
		lits := LiteralsOf(mp)
		lits.Merge(luaLits)
		worlds := worldsFor(mp, lits, seed, orig.HasUsers)
		proof, err := Prove(mp, lua, "@original.lua", worlds)
		if err != nil {
			t.Fatal(err)
		}
		if len(proof.Inexact) > 0 {
			tally.inexact++
			continue
		}
		killed := firstMismatch(t, mp, lua, worlds, Generate(lits, seed, 300)) != nil
		switch {
		case killed && proof.Mismatch == nil:
			t.Errorf("%s:%d:%d: mutant %q is killed by the streams, yet --prove says equal", name, m.Pos.Line, m.Pos.Column, m.Desc)
		case !killed && proof.Mismatch != nil:
			t.Errorf("%s:%d:%d: mutant %q survives the streams, yet --prove refutes it:\n%v", name, m.Pos.Line, m.Pos.Column, m.Desc, proof.Mismatch)
		case killed:
			tally.refuted++
		default:
			tally.proved++
		}
	}
	return tally
}

// declarativeRules is a regex-free table of n rules: 60 % names with port
// ranges, 40 % CIDR rules.
func declarativeRules(n int) string {
	var b strings.Builder
	b.WriteString("upstream gw = \"socks5://gw.lan:1080\"\nredirect_name {\n")
	for i := 0; i < n*6/10; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "    host h%d.example and port %d-%d => reject tag h%d\n", i, 1000+i, 2000+i, i)
		case 1:
			fmt.Fprintf(&b, "    domain d%d.example => proxy gw\n", i)
		default:
			fmt.Fprintf(&b, "    exact e%d.example:443 => redirect 10.%d.0.1:80\n", i, i%250)
		}
	}
	b.WriteString("}\nroute {\n")
	for i := 0; i < n*4/10; i++ {
		fmt.Fprintf(&b, "    cidr 10.%d.%d.0/20 => direct tag c%d\n", i%250, i/250*16, i)
	}
	b.WriteString("}\ndefault => proxy gw tag gw\n")
	return b.String()
}

// BenchmarkProve100 is `nrt conform --prove` on a regex-free 100-rule
// table and its translation. The partition is a product of name and port
// classes, so the time grows with the square of the table's size.
func BenchmarkProve100(b *testing.B) {
	p, d := dsl.Check("big.nrt", []byte(declarativeRules(100)), dsl.CheckOptions{})
	if p == nil {
		b.Fatal(d.Format())
	}
	lua := []byte(dsl.Translate(p))
	for b.Loop() {
		lits := LiteralsOf(p)
		lits.Merge(LuaLiterals(lua))
		proof, err := Prove(p, lua, "@big.lua", []World{{DNS: MakeDNS(lits, 1)}})
		if err != nil {
			b.Fatal(err)
		}
		if !proof.Equal() {
			b.Fatalf("not proved: %q %v", proof.Inexact, proof.Mismatch)
		}
		b.ReportMetric(float64(proof.Classes), "requests")
	}
}
