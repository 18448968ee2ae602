package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
)

// plainRuleset has only what every engine has: no code to run, no VM.
type plainRuleset struct{}

func (plainRuleset) Healthy(context.Context) string                       { return "" }
func (plainRuleset) Stats(context.Context, time.Duration, *string) string { return "plain stats\n" }
func (plainRuleset) Metrics(context.Context) string                       { return "" }
func (plainRuleset) Update(context.Context, string, string, []byte) error {
	return nil
}

var _ Ruleset = plainRuleset{}

// TestOptionalAbilities serves an engine without the optional interfaces:
// each endpoint that needs one answers as documented on the interface.
func TestOptionalAbilities(t *testing.T) {
	ts := start(t, nil, func(s *Server) { s.Ruleset = func() Ruleset { return plainRuleset{} } })
	post := func(path, hdr, body string) response {
		t.Helper()
		return parseRaw(t, ts.raw(t, fmt.Sprintf("POST %s HTTP/1.1\r\nConnection: close\r\n%sContent-Length: %d\r\n\r\n%s", path, hdr, len(body), body)))
	}
	tests := []struct {
		name string
		path string
		hdr  string
		code int
		body string // exact body, or "" to check with labels
	}{
		{name: "invoke", path: "/ruleset/invoke", code: 500, body: msgNoCode},
		{name: "rpcall", path: "/ruleset/rpcall", hdr: "Content-Type: " + rpc.ContentType + "\r\n", code: 500, body: rpc.NoReturn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.path, tc.hdr, "x")
			if r.code != tc.code || r.body != tc.body || r.get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatal(r.raw)
			}
		})
	}

	t.Run("gc", func(t *testing.T) {
		r := post("/ruleset/gc", "", "")
		m, order := statsLabels(t, r.body)
		if r.code != 200 || strings.Join(order, ",") != "Difference,Ruleset Allocated,Ruleset Threads,Ruleset Events,Time Cost" ||
			m["Difference"] != "0 (0 objects)" || m["Ruleset Allocated"] != "0 (0 objects)" {
			t.Fatal(r.raw)
		}
	})
	t.Run("stats runtime", func(t *testing.T) {
		r := statsGet(t, ts, "GET", "?nobanner=1&runtime=1")
		m, _ := statsLabels(t, r.body)
		if m["Ruleset Allocated"] != "0 (0 objects)" || m["Ruleset Threads"] != "0 (peak 0)" {
			t.Fatal(r.raw)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := parseRaw(t, ts.raw(t, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"))
		if r.code != 200 || strings.Contains(r.body, "neosocksd_lua_") {
			t.Fatal(r.raw)
		}
	})
}
