package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name -> contents into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheck(t *testing.T) {
	// A port in use: start-up would fail to bind it, --check must not try.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	listen := busy.Addr().String()
	dir := writeFiles(t, map[string]string{
		"good.lua":     "local r = {}\nfunction r.route(a) return a end\nreturn r\n",
		"syntax.lua":   "local r = {}\nfunction r.route(a)\n  return a +\nend\nreturn r\n",
		"runtime.lua":  "local x = nil\nx.y = 1\nreturn {}\n",
		"good.nrt":     "route {\n    cidr 10.0.0.0/8 => direct\n}\n",
		"unclosed.nrt": "route {\n    cidr 10.0.0.0/8 => direct\n\ndefault => direct\n",
		"typo.lua":     "return { listne = \"127.0.0.1:1080\", loglevel = 4 }\n",
		"conf.lua":     "return { listen = \"127.0.0.1:1080\", timeout = 30, ruleset = {} }\n",
		"badconf.lua":  "return { listen = \"127.0.0.1:1080\", timeout = 1 }\n",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string
		stderr []string // each must appear exactly once
	}{
		{"no file", []string{"-l", listen}, 0, "configuration ok", nil},
		{"lua ruleset", []string{"-l", listen, "-r", p("good.lua")}, 0, "configuration ok", nil},
		{"route table", []string{"-l", listen, "-r", p("good.nrt")}, 0, "configuration ok", nil},
		{"config", []string{"-c", p("conf.lua")}, 0, "configuration ok", nil},
		{"config check", []string{"-l", listen, "-t", "1"}, 1, "", []string{"timeout is out of range", "configuration check failed"}},
		{"lua syntax error", []string{"-l", listen, "-r", p("syntax.lua")}, 1, "",
			[]string{p("syntax.lua") + ":4: unexpected symbol near 'end'", "unable to load ruleset: " + p("syntax.lua")}},
		{"lua runtime error", []string{"-l", listen, "-r", p("runtime.lua")}, 1, "",
			[]string{p("runtime.lua") + ":2: attempt to index"}},
		{"route table error", []string{"-l", listen, "-r", p("unclosed.nrt")}, 1, "",
			[]string{p("unclosed.nrt") + ":4:1: error: unexpected", "unable to load ruleset: " + p("unclosed.nrt")}},
		{"unknown config key", []string{"-c", p("typo.lua")}, 1, "",
			[]string{"unknown field `listne' is ignored; did you mean `listen'?", "listen address is not specified"}},
		{"config fails the check", []string{"-c", p("badconf.lua")}, 1, "", []string{"timeout is out of range"}},
		{"auth without ruleset", []string{"-l", listen, "--auth-required"}, 1, "", []string{"authentication requires a ruleset"}},
		{"bad proxy", []string{"-l", listen, "-x", "socks6://h:1"}, 1, "", []string{"unable to parse outbound configuration"}},
		{"unknown user", []string{"-l", listen, "-u", "no-such-user-here:"}, 1, "", []string{"-u no-such-user-here:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, stdout, stderr := runOnce(t, append(tc.args, "--check")...)
			if status != tc.status {
				t.Fatalf("status %d, want %d\nstdout: %s\nstderr: %s", status, tc.status, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || (tc.stdout == "" && stdout != "") {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			for _, want := range tc.stderr {
				if n := strings.Count(stderr, want); n != 1 {
					t.Errorf("stderr has %q %d times, want once:\n%s", want, n, stderr)
				}
			}
		})
	}
}

func TestDumpConfigRunsTheConfigFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"conf.lua":    "return { listen = \"127.0.0.1:1081\", timeout = 30.5, max_sessions = 7 }\n",
		"badconf.lua": "return { listen = \"127.0.0.1:1081\", timeout = 1 }\n",
	})
	status, stdout, stderr := runOnce(t, "-c", filepath.Join(dir, "conf.lua"), "--dump-config")
	if status != 0 {
		t.Fatalf("status %d\n%s", status, stderr)
	}
	for _, want := range []string{"    listen = \"127.0.0.1:1081\",\n", "    timeout = 30.5,\n", "    max_sessions = 7,\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dump lacks %q:\n%s", want, stdout)
		}
	}
	status, stdout, stderr = runOnce(t, "-c", filepath.Join(dir, "badconf.lua"), "--dump-config")
	if status != 1 || stdout != "" || !strings.Contains(stderr, "timeout is out of range") {
		t.Fatalf("a config that fails the check: status %d, stdout %q\n%s", status, stdout, stderr)
	}
}
