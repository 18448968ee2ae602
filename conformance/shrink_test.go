package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// mutant is engine G with a planted bug: decisions that fire a rule
// tagged "evil" go elsewhere.
type mutant struct{ *GoEngine }

func (m mutant) Name() string { return "M" }
func (m mutant) Decide(r Request) (Outcome, error) {
	o, err := m.GoEngine.Decide(r)
	for _, e := range o.Events {
		if e.Tag == "evil" {
			o.Target = "mutated:1"
		}
	}
	return o, err
}

// TestShrinkAndSave plants a divergence in a random route table and checks
// that the case is shrunk to the guilty rule and one request, saved, and
// replayed from the saved files.
func TestShrinkAndSave(t *testing.T) {
	dir := t.TempDir()
	oldDir, oldMake := regressDir, makeEngines
	t.Cleanup(func() { regressDir, makeEngines = oldDir, oldMake })
	regressDir = dir
	makeEngines = func(p *dsl.Program, w World) ([]Engine, func(), error) {
		g, err := NewGoEngine(p, Indexed, w)
		if err != nil {
			return nil, nil, err
		}
		g2, err := NewGoEngine(p, Indexed, w)
		return []Engine{g, mutant{g2}}, func() {}, err
	}
	src := RandomRuleset(7)
	src = strings.Replace(src, "redirect_name {\n", "redirect_name {\n    domain evil.example => direct tag evil\n", 1)
	if !strings.Contains(src, "tag evil") {
		src += "redirect_name {\n    domain evil.example => direct tag evil\n}\n"
	}
	p := mustCheck(t, "planted.nrt", []byte(src), dsl.CheckOptions{})
	lits := LiteralsOf(p)
	lits.Names = append(lits.Names, "www.evil.example")
	w := World{DNS: MakeDNS(lits, 7)}
	stream := Generate(lits, 7, 300)
	es, done, _ := makeEngines(p, w)
	m := Run(es, stream)
	done()
	if m == nil {
		t.Fatal("the planted divergence was not found")
	}
	if !strings.Contains(m.Error(), "trace G:") || !strings.Contains(m.Error(), "trace M:") {
		t.Errorf("the report lacks both traces:\n%v", m)
	}
	small, smallSrc := shrinkCase(t, "planted.nrt", []byte(src), w, stream)
	if len(small) != 1 {
		t.Errorf("stream shrunk to %d requests, want 1: %v", len(small), small)
	}
	rules := 0
	for _, line := range strings.Split(string(smallSrc), "\n") {
		if strings.Contains(line, "=>") {
			rules++
		}
	}
	if rules != 1 || !strings.Contains(string(smallSrc), "tag evil") {
		t.Errorf("source shrunk to %d rules, want the evil one only:\n%s", rules, smallSrc)
	}
	path, err := saveRegression(smallSrc, w, small)
	if err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadFile(strings.TrimSuffix(path, ".nrt") + ".req")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := readWorld(req)
	if err != nil || len(w2.DNS) != len(w.DNS) || w2.AuthRequired != w.AuthRequired {
		t.Fatalf("world did not round-trip: %v %v", w2, err)
	}
	again, err := ReadStream(bytes.NewReader(req))
	if err != nil || len(again) != 1 || again[0] != small[0] {
		t.Fatalf("stream did not round-trip: %v %v", again, err)
	}
	if filepath.Dir(path) != dir || filepath.Base(path) != "001.nrt" {
		t.Errorf("saved as %s", path)
	}
}
