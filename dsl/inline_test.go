package dsl

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestRouteNow: a table decides inline exactly as Route does, unless one
// of its rules resolves names with a resolver set, when RouteNow declines
// without deciding (no hit counted).
func TestRouteNow(t *testing.T) {
	plain := "redirect_name {\n    host localhost => redirect host 127.0.0.1\n}\nroute {\n    cidr 127.0.0.0/8 => direct\n}\ndefault => reject\n"
	resolving := "redirect_name {\n    domain new.example => resolve\n}\nroute {\n    cidr 127.0.0.0/8 => direct\n}\ndefault => reject\n"
	resolver := func(context.Context, string) (netip.Addr, error) { return netip.MustParseAddr("127.0.0.9"), nil }
	load := func(t *testing.T, src string, o Options) *Engine {
		t.Helper()
		path := filepath.Join(t.TempDir(), "t.nrt")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := LoadFile(path, o)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	reqs := []route.Request{
		{Callback: route.Resolve, Addr: "localhost:80"},
		{Callback: route.Route, Addr: "127.0.0.1:81"},
		{Callback: route.Route, Addr: "192.0.2.1:82"},
		{Callback: route.Resolve, Addr: "new.example:83"},
	}
	for _, tc := range []struct {
		name   string
		src    string
		o      Options
		inline bool
	}{
		{"plain", plain, Options{Resolve: resolver}, true},
		{"resolving without a resolver", resolving, Options{}, true},
		{"resolving", resolving, Options{Resolve: resolver}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now, oracle := load(t, tc.src, tc.o), load(t, tc.src, tc.o)
			for _, req := range reqs {
				r := req
				d, ok := now.RouteNow(&r)
				if ok != tc.inline {
					t.Fatalf("%s: RouteNow answered %v, want %v", req.Addr, ok, tc.inline)
				}
				if !ok {
					continue
				}
				want, err := oracle.Route(context.Background(), &req)
				if err != nil || d != want {
					t.Errorf("%s: RouteNow %+v, Route %+v, %v", req.Addr, d, want, err)
				}
			}
			if !tc.inline {
				for _, h := range now.Table().Hits() {
					if h.Hits != 0 {
						t.Errorf("a declined RouteNow counted a hit of %s", h.Rule)
					}
				}
			}
		})
	}
}
