package dsl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/api"
	"github.com/neosocksd-go/neosocksd/core/route"
)

func TestEngineReloadUpdateMetrics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.nrt")
	os.WriteFile(filepath.Join(dir, "ups.nrt"), []byte("upstream p = \"socks5://p.lan:1080\"\n"), 0o644)
	os.WriteFile(path, []byte("include \"ups.nrt\"\nroute {\n    cidr 10.0.0.0/8 => proxy p tag ten\n}\n"), 0o644)
	var events []string
	e, err := LoadFile(path, Options{Events: func(tag, a string) { events = append(events, tag+" "+a) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, _ := e.Route(ctx, &route.Request{Callback: route.Route, Addr: "10.1.1.1:80"})
	if d.Target != "10.1.1.1:80" || d.Chain.String() != "[socks5://p.lan:1080]" {
		t.Fatalf("route: %s", FormatDecision(d))
	}
	if len(events) != 1 || events[0] != "ten 10.1.1.1:80" {
		t.Errorf("events %v", events)
	}
	if m := e.Metrics(ctx); !strings.Contains(m, `neosocksd_rule_hits_total{rule="`+path+`:3:5"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
	if s := e.Stats(ctx, 0, nil); !strings.Contains(s, path+":3:5 1") {
		t.Errorf("stats:\n%s", s)
	}
	// A failing update keeps the old table and returns diagnostics.
	err = e.Update(ctx, "", "", []byte("route { cidr 10.0.0.1/8 => direct }"))
	if err == nil || !strings.Contains(err.Error(), "host bits set") {
		t.Fatalf("bad update: %v", err)
	}
	d, _ = e.Route(ctx, &route.Request{Callback: route.Route, Addr: "10.1.1.1:80"})
	if d.Chain.Len() != 1 {
		t.Errorf("old table lost: %s", FormatDecision(d))
	}
	// A good update resolves includes next to the original file.
	if err := e.Update(ctx, "", "", []byte("include \"ups.nrt\"\ndefault => reject\n")); err != nil {
		t.Fatal(err)
	}
	d, _ = e.Route(ctx, &route.Request{Callback: route.Route, Addr: "10.1.1.1:80"})
	if d.Verdict != route.Reject {
		t.Errorf("after update: %s", FormatDecision(d))
	}
	// Reload goes back to the file.
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	d, _ = e.Route(ctx, &route.Request{Callback: route.Route, Addr: "10.1.1.1:80"})
	if d.Chain.Len() != 1 {
		t.Errorf("after reload: %s", FormatDecision(d))
	}
	if _, ok := any(e).(api.Invoker); ok {
		t.Error("the route table offers to invoke code")
	}
	if _, ok := any(e).(api.RPCaller); ok {
		t.Error("the route table offers to run RPC calls")
	}
	if e.Healthy(ctx) != "" {
		t.Error("unhealthy")
	}
}
