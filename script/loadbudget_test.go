package script

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// slowLoad spends a quarter second of CPU time before it returns its
// ruleset, as a large generated ruleset does while it builds its tables.
const slowLoad = `
local t0 = os.clock()
while os.clock() - t0 < 0.25 do end
return { resolve = function(addr) return "127.0.0.1:9" end }
`

func TestLoadsRunUnderTheLoadBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.lua")
	if err := os.WriteFile(path, []byte(slowLoad), 0o644); err != nil {
		t.Fatal(err)
	}
	te := newTestEngine(t, Options{Budget: 50 * time.Millisecond})
	if err := te.LoadRuleset(path); err != nil {
		t.Fatalf("a ruleset that takes longer than a request's budget to load: %v", err)
	}
	if err := te.Update(context.Background(), "", "", []byte(slowLoad)); err != nil {
		t.Fatalf("the same ruleset through /ruleset/update: %v", err)
	}
	if d := routeOf(t, te.Engine, route.Resolve, "x.test:80"); d.Verdict != route.Forward || d.Target != "127.0.0.1:9" {
		t.Fatalf("decision after the slow load: %v", d)
	}
	// requests and /ruleset/invoke keep the short budget
	err := te.Invoke(context.Background(), []byte("local t0 = os.clock() while os.clock() - t0 < 0.25 do end"))
	if err == nil || !strings.Contains(err.Error(), ErrBudget.Error()) {
		t.Fatalf("invoke over the request budget: %v", err)
	}
}

func TestLoadThatNeverEndsIsStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "forever.lua")
	if err := os.WriteFile(path, []byte("while true do end"), 0o644); err != nil {
		t.Fatal(err)
	}
	te := newTestEngine(t, Options{Budget: 50 * time.Millisecond, LoadBudget: 300 * time.Millisecond})
	err := te.LoadRuleset(path)
	if err == nil || !strings.Contains(err.Error(), ErrBudget.Error()) {
		t.Fatalf("a ruleset file that never finishes: %v", err)
	}
	if !strings.Contains(te.log.String(), "budget=300ms") {
		t.Errorf("the log names the load budget:\n%s", te.log.String())
	}
}
