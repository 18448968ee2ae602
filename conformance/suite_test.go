package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// Sizes of the default run, the -short run and the long run
// (NSD_CONFORMANCE_N=rulesets).
type sizes struct {
	rulesets, requests, fixed int
}

func suiteSizes() sizes {
	if s := os.Getenv("NSD_CONFORMANCE_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return sizes{rulesets: n, requests: 1000, fixed: 3000}
		}
	}
	// Each stream already holds every literal crossed with the port
	// edges, the regex and pattern witnesses and the probes, so fewer
	// tables than when streams were literal lists cover as much.
	if testing.Short() {
		return sizes{rulesets: 20, requests: 150, fixed: 300}
	}
	if raceEnabled {
		return sizes{rulesets: 40, requests: 200, fixed: 500}
	}
	return sizes{rulesets: 120, requests: 300, fixed: 1000}
}

// testEnv reads list files relative to dir and answers every env() with a
// fixed value.
func checkOpts(dir string) dsl.CheckOptions {
	return dsl.CheckOptions{
		ReadFile: func(name string) ([]byte, error) {
			if !filepath.IsAbs(name) && !strings.HasPrefix(name, dir) {
				name = filepath.Join(dir, name)
			}
			return os.ReadFile(name)
		},
		Getenv: func(string) (string, bool) { return "env-secret", true },
	}
}

func mustCheck(t *testing.T, name string, src []byte, o dsl.CheckOptions) *dsl.Program {
	t.Helper()
	p, d := dsl.Check(name, src, o)
	if p == nil {
		t.Fatalf("%s", d.Errors().Format())
	}
	return p
}

// checkFile reads the program in file f and checks it with the options of
// its directory; a fault ends the test.
func checkFile(t *testing.T, f string) ([]byte, *dsl.Program) {
	t.Helper()
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return src, mustCheck(t, f, src, checkOpts(filepath.Dir(f)))
}

// worldsFor returns the worlds a program is compared in: auth off, and
// auth on when the program has users (or always, when all is set). The
// DNS answers come from the literals plus the program's test blocks.
func worldsFor(p *dsl.Program, lits Literals, seed uint64, all bool) []World {
	dns := MakeDNS(lits, seed)
	for _, t := range p.Tests {
		for k, v := range t.DNS {
			dns[k] = v
		}
	}
	ws := []World{{DNS: dns}}
	if p.HasUsers || all {
		ws = append(ws, World{AuthRequired: true, DNS: dns})
	}
	return ws
}

// compareProgram runs the four engines over stream in world w and returns
// the first mismatch.
func compareProgram(t *testing.T, p *dsl.Program, w World, stream []Request) *Mismatch {
	t.Helper()
	es, l, err := Engines(p, w)
	if err != nil {
		t.Fatalf("%s: engines: %v\n%s", p.Main, err, dsl.Translate(p))
	}
	defer l.Close()
	return Run(es, stream)
}

// report fails the test with both traces, shrinks the case and saves it
// as a regression when src is a self-contained route table.
func report(t *testing.T, p *dsl.Program, src []byte, w World, stream []Request, m *Mismatch) {
	t.Helper()
	msg := fmt.Sprintf("%s (%s): %v", p.Main, w, m)
	if m.EngineErr != nil || src == nil {
		t.Error(msg)
		return
	}
	small, smallSrc := shrinkCase(t, p.Main, src, w, stream)
	path, err := saveRegression(smallSrc, w, small)
	if err != nil {
		t.Errorf("%s\nsaving the regression: %v", msg, err)
		return
	}
	t.Errorf("%s\nshrunk to %d requests, saved as %s", msg, len(small), path)
}

// shrinkCase shrinks the stream, then the source line by line, while the
// engines still disagree.
func shrinkCase(t *testing.T, name string, src []byte, w World, stream []Request) ([]Request, []byte) {
	t.Helper()
	fails := func(src []byte, s []Request) bool {
		p, _ := dsl.Check(name, src, dsl.CheckOptions{})
		if p == nil {
			return false
		}
		es, done, err := makeEngines(p, w)
		if err != nil {
			return false
		}
		defer done()
		m := Run(es, s)
		return m != nil && m.EngineErr == nil
	}
	p, _ := dsl.Check(name, src, dsl.CheckOptions{})
	es, done, err := makeEngines(p, w)
	if err != nil {
		return stream, src
	}
	stream = Shrink(es, stream)
	done()
	lines := strings.Split(strings.TrimRight(string(src), "\n"), "\n")
	for changed, rounds := true, 0; changed && rounds < 4; rounds++ {
		changed = false
		for i := 0; i < len(lines); i++ {
			if strings.HasSuffix(lines[i], "{") || strings.TrimSpace(lines[i]) == "}" {
				continue
			}
			cand := slices.Delete(slices.Clone(lines), i, i+1)
			if fails([]byte(strings.Join(cand, "\n")+"\n"), stream) {
				lines, changed = cand, true
				i--
			}
		}
	}
	return stream, []byte(strings.Join(lines, "\n") + "\n")
}

// makeEngines builds the engines a mismatch is shrunk with (a variable
// so that the shrinker's own test can plant a divergence).
var makeEngines = func(p *dsl.Program, w World) ([]Engine, func(), error) {
	es, l, err := Engines(p, w)
	if err != nil {
		return nil, nil, err
	}
	return es, l.Close, nil
}

// regressDir is where mismatches are saved and replayed from.
var regressDir = "testdata/regress"

// saveRegression writes NNN.nrt and NNN.req (the world as "#!" lines).
func saveRegression(src []byte, w World, stream []Request) (string, error) {
	if err := os.MkdirAll(regressDir, 0o755); err != nil {
		return "", err
	}
	ents, _ := filepath.Glob(filepath.Join(regressDir, "*.nrt"))
	n := len(ents) + 1
	for {
		if _, err := os.Stat(filepath.Join(regressDir, fmt.Sprintf("%03d.nrt", n))); os.IsNotExist(err) {
			break
		}
		n++
	}
	base := filepath.Join(regressDir, fmt.Sprintf("%03d", n))
	var b bytes.Buffer
	if w.AuthRequired {
		b.WriteString("#! auth\n")
	}
	keys := make([]string, 0, len(w.DNS))
	for k := range w.DNS {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "#! dns %q %q\n", k, w.DNS[k])
	}
	if err := WriteStream(&b, stream); err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".nrt", src, 0o644); err != nil {
		return "", err
	}
	return base + ".nrt", os.WriteFile(base+".req", b.Bytes(), 0o644)
}

// readWorld reads the "#!" lines of a .req file.
func readWorld(data []byte) (World, error) {
	w := World{DNS: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#!") {
			continue
		}
		f := strings.TrimSpace(line[2:])
		switch {
		case f == "auth":
			w.AuthRequired = true
		case strings.HasPrefix(f, "dns "):
			k, rest, err := unquotePrefix(strings.TrimSpace(f[4:]))
			if err != nil {
				return w, err
			}
			v, _, err := unquotePrefix(strings.TrimSpace(rest))
			if err != nil {
				return w, err
			}
			w.DNS[k] = v
		default:
			return w, fmt.Errorf("unknown directive %q", line)
		}
	}
	return w, sc.Err()
}

// TestExamples compares the engines on the four examples of the design,
// with and without authentication.
func TestExamples(t *testing.T) {
	sz := suiteSizes()
	files, _ := filepath.Glob("../dsl/testdata/ex*.nrt")
	if len(files) < 4 {
		t.Fatalf("examples missing: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, p := checkFile(t, f)
			runTestBlocks(t, f, p)
			lits := LiteralsOf(p)
			for _, w := range worldsFor(p, lits, 1, true) {
				stream := Generate(lits, 1, sz.fixed)
				if m := compareProgram(t, p, w, stream); m != nil {
					report(t, p, nil, w, stream, m)
				}
			}
		})
	}
}

// TestConstructs compares the engines on testdata/constructs: one file
// per construct of design §4 and per patch P1-P5. Their test blocks must
// pass on the Go engine as well.
func TestConstructs(t *testing.T) {
	sz := suiteSizes()
	files, _ := filepath.Glob("testdata/constructs/*.nrt")
	if len(files) < 20 {
		t.Fatalf("only %d construct files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, p := checkFile(t, f)
			if len(p.Tests) == 0 {
				t.Errorf("%s has no test block", f)
			}
			runTestBlocks(t, f, p)
			lits := LiteralsOf(p)
			for _, w := range worldsFor(p, lits, 2, false) {
				stream := Generate(lits, 2, sz.fixed/2)
				if m := compareProgram(t, p, w, stream); m != nil {
					report(t, p, src, w, stream, m)
				}
			}
		})
	}
}

// runTestBlocks runs the test blocks of p on the Go engine and on the
// translated Lua; both must pass.
func runTestBlocks(t *testing.T, f string, p *dsl.Program) {
	t.Helper()
	for _, run := range []struct {
		label string
		fn    func(*dsl.Program) ([]dsl.CaseResult, error)
	}{{"go", dsl.RunTests}, {"lua", RunLuaTests}} {
		res, err := run.fn(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Failure != "" {
				t.Errorf("%s: %s:%d: %q: %s", run.label, f, r.Case.Pos.Line, r.Case.Addr, r.Failure)
			}
		}
	}
}

// TestRandomRulesets compares the engines on seeded random route tables.
func TestRandomRulesets(t *testing.T) {
	sz := suiteSizes()
	var checked, requests int
	tally := map[string]int{}
	for seed := uint64(1); seed <= uint64(sz.rulesets); seed++ {
		src := []byte(RandomRuleset(seed))
		name := fmt.Sprintf("random%d.nrt", seed)
		p, d := dsl.Check(name, src, dsl.CheckOptions{})
		if p == nil {
			t.Errorf("generator made an invalid table (seed %d):\n%s\n%s", seed, d.Errors().Format(), src)
			continue
		}
		checked++
		lits := LiteralsOf(p)
		for _, w := range worldsFor(p, lits, seed, seed%4 == 0) {
			stream := Generate(lits, seed, sz.requests)
			requests += len(stream)
			if m := compareProgram(t, p, w, stream); m != nil {
				report(t, p, src, w, stream, m)
			}
			countOutcomes(tally, p, w, stream)
		}
	}
	t.Logf("%d random rulesets, %d requests, each on G, G0, GT and L; outcomes %v", checked, requests, tally)
	// The generator must reach every kind of outcome often enough.
	for _, k := range []string{"route", "route+chain", "reject", "error", "events", "auth-fail", "rewritten"} {
		if tally[k]*200 < requests {
			t.Errorf("only %d of %d requests gave %q", tally[k], requests, k)
		}
	}
}

// TestRegressions replays every saved mismatch.
func TestRegressions(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(regressDir, "*.nrt"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := os.ReadFile(strings.TrimSuffix(f, ".nrt") + ".req")
			if err != nil {
				t.Fatal(err)
			}
			w, err := readWorld(req)
			if err != nil {
				t.Fatal(err)
			}
			stream, err := ReadStream(bytes.NewReader(req))
			if err != nil {
				t.Fatal(err)
			}
			p := mustCheck(t, f, src, checkOpts(filepath.Dir(f)))
			es, l, err := Engines(p, w)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if m := Run(es, stream); m != nil {
				t.Errorf("%v", m)
			}
		})
	}
}

// countOutcomes tallies the kinds of decisions engine G makes on stream.
func countOutcomes(tally map[string]int, p *dsl.Program, w World, stream []Request) {
	g, err := NewGoEngine(p, Indexed, w)
	if err != nil {
		return
	}
	for _, r := range stream {
		o, _ := g.Decide(r)
		switch o.Verdict {
		case route.Forward:
			tally["route"]++
			if o.Chain.Len() > 0 {
				tally["route+chain"]++
			}
			if o.Target != r.Addr {
				tally["rewritten"]++
			}
		case route.Reject:
			tally["reject"]++
		default:
			tally["error"]++
		}
		if len(o.Events) > 0 {
			tally["events"]++
			if o.Events[0].Tag == "auth-fail" {
				tally["auth-fail"]++
			}
		}
	}
}
