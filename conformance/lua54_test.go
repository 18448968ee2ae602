package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// TestRealLua54 runs our libruleset.lua's pure-Lua decision flow on
// Debian's lua5.4 (with stdlib's pure-Lua stand-ins for the natives) and
// on gopher-lua, over the same translated rulesets and requests, so that
// the port's semantics stay anchored to real Lua. Rulesets using regex or
// resolve are left out (no regex library and no resolver on that side).
func TestRealLua54(t *testing.T) {
	bin, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	stdlibDir, err := filepath.Abs("../stdlib")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(stdlibDir, "testdata", "lua54_host.lua")); err != nil {
		t.Skipf("stdlib's Lua 5.4 host is missing: %v", err)
	}
	driver, _ := filepath.Abs("testdata/lua54_driver.lua")
	type tc struct {
		name string
		p    *dsl.Program
	}
	var cases []tc
	files, _ := filepath.Glob("testdata/constructs/*.nrt")
	files = append(files, "../dsl/testdata/ex1.nrt", "../dsl/testdata/ex3.nrt")
	for _, f := range files {
		_, p := checkFile(t, f)
		cases = append(cases, tc{filepath.Base(f), p})
	}
	n := 30
	if testing.Short() {
		n = 5
	}
	for seed := uint64(1000); seed < uint64(1000+n); seed++ {
		src := RandomRuleset(seed)
		cases = append(cases, tc{fmt.Sprintf("random%d", seed), mustCheck(t, "r.nrt", []byte(src), dsl.CheckOptions{})})
	}
	dir := t.TempDir()
	ran, withEvents, routed := 0, 0, 0
	for _, c := range cases {
		lua := dsl.Translate(c.p)
		if strings.Contains(lua, "match.regex") || strings.Contains(lua, "rule.resolve") {
			continue
		}
		ran++
		lits := LiteralsOf(c.p)
		for _, auth := range []bool{false, true} {
			if auth && !c.p.HasUsers {
				continue
			}
			var stream []Request
			for _, r := range Generate(lits, 3, 200) {
				if !strings.ContainsAny(r.Addr+r.Cred.Username+r.Cred.Password, "\n\r\x1d\x1e\x1f") {
					stream = append(stream, r)
				}
			}
			rsPath := filepath.Join(dir, "rs.lua")
			reqPath := filepath.Join(dir, "req.txt")
			var req bytes.Buffer
			for _, r := range stream {
				fmt.Fprintf(&req, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n", r.Callback, b01(r.Cred.HasUsername), r.Cred.Username,
					b01(r.Cred.HasPassword), r.Cred.Password, r.Addr)
			}
			if err := os.WriteFile(rsPath, []byte(lua), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(reqPath, req.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, bin, "testdata/lua54_host.lua", driver, rsPath, reqPath, b01(auth))
			cmd.Dir = stdlibDir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			cancel()
			if err != nil {
				t.Fatalf("%s: lua5.4: %v\n%s", c.name, err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) < len(stream) {
				t.Fatalf("%s: lua5.4 answered %d of %d requests", c.name, len(lines), len(stream))
			}
			l, err := NewLuaEngine("L", []byte(lua), "@"+c.name+".lua", LuaOptions{AuthRequired: auth})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range stream {
				o, err := l.Decide(r)
				if err != nil {
					t.Fatal(err)
				}
				if len(o.Events) > 0 {
					withEvents++
				}
				if o.Verdict == route.Forward && o.Chain.Len() > 0 {
					routed++
				}
				if got, want := lines[i], encodeOutcome(o); got != want {
					t.Errorf("%s auth=%v request %d %s:\n  lua5.4     %q\n  gopher-lua %q\n%s", c.name, auth, i, r, got, want, lua)
					break
				}
			}
			l.Close()
		}
	}
	if ran < 20 || withEvents < 100 || routed < 100 {
		t.Fatalf("only %d rulesets, %d decisions with events, %d with a proxy chain compared", ran, withEvents, routed)
	}
	t.Logf("%d rulesets compared on lua5.4 and gopher-lua (%d decisions with events, %d with a proxy chain)", ran, withEvents, routed)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// encodeOutcome renders o as the driver prints it.
func encodeOutcome(o Outcome) string {
	var ev []string
	for _, e := range o.Events {
		ev = append(ev, e.Tag+"\x1d"+e.Addr)
	}
	switch o.Verdict {
	case route.Forward:
		return "R\x1f" + o.Target + "\x1f" + strings.Join(o.Chain.Hops(), "\x1e") + "\x1f" + strings.Join(ev, "\x1e")
	case route.Reject:
		return "X\x1f\x1f\x1f" + strings.Join(ev, "\x1e")
	}
	return "E\x1f\x1f\x1f" + strings.Join(ev, "\x1e")
}
