package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestPrint checks print against Lua 5.4 (lua5.4 -e prints "1	T	x" for
// the first line): the arguments go to Options.Stdout separated by tabs,
// converted through __tostring but not through a replaced global
// tostring, and print is the host's inside a protected call too.
func TestPrint(t *testing.T) {
	te := newTestEngine(t, Options{})
	te.invoke(t, `
		local t = setmetatable({}, {__tostring = function() return "T" end})
		_G.tostring = function() return "X" end
		print(1, t, "x")
		pcall(print, 2.5, nil, true)
		print()
	`)
	if got, want := te.out.String(), "1\tT\tx\n2.5\tnil\ttrue\n\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
}

// TestHandlerSkippedOnceBudgetRunsOut checks the VM's Host.Aborted: when
// the execution budget stops a protected call, xpcall's message handler
// is not called (print, a Go function, could still run and would write the
// abort's error to Options.Stdout), and the request fails with the budget
// error.
func TestHandlerSkippedOnceBudgetRunsOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spin.lua")
	src := `return { resolve = function() return xpcall(function() while true do end end, print) end }`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	te := loadTestRuleset(t, Options{Budget: 100 * time.Millisecond}, path)
	d := routeWithin(t, te.Engine, "spin.test:1", 30*time.Second)
	if d.Verdict != route.Error || !strings.Contains(d.Reason, ErrBudget.Error()) {
		t.Fatalf("decision %v %q, want the budget error", d.Verdict, d.Reason)
	}
	if out := te.out.String(); out != "" {
		t.Errorf("the handler ran: stdout %q", out)
	}
}
