package script

import "testing"

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
