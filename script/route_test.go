package script

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestCallbackForms routes through callbacks of every shape the request
// trampoline meets: a plain field of _G.ruleset, one that ends in a tail
// call of await.forward that yields while the request's dial runs (as
// libruleset's callbacks do; with the callback as the routine's base
// frame, gopher-lua would end the routine at that yield and the request
// would be rejected), a field inherited through __index, and a missing
// one.
func TestCallbackForms(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pipeDial := func(context.Context, string, route.Chain) (net.Conn, error) {
		c, peer := net.Pipe()
		peer.Close()
		return c, nil
	}
	tests := []struct {
		name    string
		ruleset string
		dial    route.DialFunc
		want    route.Verdict
		target  string
		reason  string
	}{
		{name: "plain field", ruleset: `return { resolve = function(a) return a, "socks5://127.0.0.1:1080" end }`,
			want: route.Forward, target: "example.com:443"},
		{name: "tail call of await.forward that yields", ruleset: "testdata/forward.lua", dial: pipeDial,
			want: route.Committed, target: "example.com:443"},
		{name: "through __index", ruleset: `return setmetatable({}, { __index = { resolve = function(a) return "127.0.0.1:9" end } })`,
			want: route.Forward, target: "127.0.0.1:9"},
		{name: "missing", ruleset: `return { route = function(a) return a end }`,
			want: route.Error, reason: "(routine):4: attempt to call a non-function object"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.ruleset
			if filepath.Ext(path) != ".lua" {
				path = write(string(rune('a'+i))+".lua", tc.ruleset)
			}
			te := loadTestRuleset(t, Options{}, path)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := te.Route(ctx, &route.Request{Callback: route.Resolve, Addr: "example.com:443", Dial: tc.dial})
			if err != nil {
				t.Fatal(err)
			}
			if d.Conn != nil {
				d.Conn.Close()
			}
			if d.Verdict != tc.want || d.Target != tc.target || tc.reason != "" && !contains(d.Reason, tc.reason) {
				t.Fatalf("decision %v %q %q, want %v %q %q", d.Verdict, d.Target, d.Reason, tc.want, tc.target, tc.reason)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
