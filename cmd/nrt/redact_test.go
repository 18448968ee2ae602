package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSecretsRedacted(t *testing.T) {
	const envPass = "env-pa$$word"   // resolved by env()
	const uriPass = "literal-s3cret" // written in a URI
	t.Setenv("NRT_TEST_PASS", envPass)
	t.Setenv("NRT_TEST_URI", "socks5://bob:"+envPass+"@gw2.lan:1080")
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	table := write("rules.nrt", `upstream lit = "socks5://alice:`+uriPass+`@gw.lan:1080"
upstream wan = "socks5://wan.lan:1080" user "carol" password env("NRT_TEST_PASS")
route {
    cidr 10.0.0.0/8 => proxy lit
    cidr 11.0.0.0/8 => proxy wan
}
default => direct
test {
    "10.1.1.1:80" => to "10.1.1.1:80"
}
`)
	bad := write("bad.nrt", `upstream dup = env("NRT_TEST_URI") user "x" password "y"
default => proxy dup
`)
	lua := write("differ.lua", `local ruleset = require("libruleset")
_G.route_default = { rule.proxy("socks5://dave:`+uriPass+`@gw.lan:1080") }
return ruleset
`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"explain", []string{"explain", "-f", table, "10.1.1.1:80", "11.1.1.1:80"}},
		{"explain json", []string{"explain", "--json", "-f", table, "10.1.1.1:80", "11.1.1.1:80"}},
		{"test", []string{"test", "-v", table}},
		{"check", []string{"check", bad}},
		{"conform", []string{"conform", "--dsl", table, "--lua", lua, "-n", "20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			run(tc.args, &out, &errb)
			all := out.String() + errb.String()
			if !strings.Contains(all, "***") {
				t.Errorf("nothing was redacted:\n%s", all)
			}
			for _, secret := range []string{envPass, uriPass, "pa%24%24word"} {
				if strings.Contains(all, secret) {
					t.Errorf("output shows %q:\n%s", secret, all)
				}
			}
		})
	}
	// translate's Lua is a working ruleset: it keeps the secrets.
	var out bytes.Buffer
	if code := run([]string{"translate", table}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("translate: exit %d", code)
	}
	if !strings.Contains(out.String(), uriPass) || !strings.Contains(out.String(), "pa%24%24word") {
		t.Errorf("translate lost a secret:\n%s", out.String())
	}
}

func TestExplainMalformedRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.nrt")
	if err := os.WriteFile(path, []byte("default => direct\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"good", []string{"10.0.0.1:80", "example.com:443", "[::1]:22"}, 0},
		{"no port", []string{"10.0.0.1:80", "bad"}, 1},
		{"port out of range", []string{"10.0.0.1:99999"}, 1},
		{"json", []string{"--json", "bad"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"explain", "-f", path}, tc.args...)
			if tc.args[0] == "--json" {
				args = append([]string{"explain", "--json", "-f", path}, tc.args[1:]...)
			}
			if code := run(args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
			if tc.code != 0 && !strings.Contains(errb.String(), "malformed") {
				t.Errorf("stderr does not say what is malformed: %s", errb.String())
			}
		})
	}
}

// TestExplainJSONKeys checks the one key style of explain --json.
func TestExplainJSONKeys(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"explain", "--json", "-f", "testdata/conform/rules.nrt", "server.lan:22", "192.168.1.1:80", "example.com:80"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var doc any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	style := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				seen[k] = true
				if !style.MatchString(k) {
					t.Errorf("key %q is not lower-case snake_case", k)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	for _, k := range []string{"addr", "events", "tag", "rule", "steps", "kind"} {
		if !seen[k] {
			t.Errorf("no %q key in the output; the test does not cover it:\n%s", k, out.String())
		}
	}
}
