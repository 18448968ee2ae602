package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.nrt")
	bad := filepath.Join(dir, "bad.nrt")
	failing := filepath.Join(dir, "failing.nrt")
	os.WriteFile(good, []byte("route {\n    cidr 10.0.0.0/8 => direct\n}\ntest {\n    \"10.1.1.1:80\" => to \"10.1.1.1:80\"\n}\n"), 0o644)
	os.WriteFile(bad, []byte("route { cidr 10.0.0.1/8 => direct }\n"), 0o644)
	os.WriteFile(failing, []byte("route { cidr 10.0.0.0/8 => reject }\ntest { \"10.1.1.1:80\" => to \"10.1.1.1:80\" }\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no args", nil, 2, ""},
		{"unknown", []string{"frob"}, 2, ""},
		{"check ok", []string{"check", good}, 0, "ok"},
		{"check bad", []string{"check", bad}, 1, ""},
		{"test ok", []string{"test", good}, 0, "1 passed, 0 failed"},
		{"test fail", []string{"test", failing}, 1, "0 passed, 1 failed"},
		{"explain", []string{"explain", "-f", good, "10.2.3.4:80"}, 0, `decision ROUTE "10.2.3.4:80" chain []`},
		{"explain json", []string{"explain", "--json", "-f", good, "10.2.3.4:80"}, 0, `"target": "10.2.3.4:80"`},
		{"explain usage", []string{"explain", "10.2.3.4:80"}, 2, ""},
		{"translate", []string{"translate", good}, 0, `inet.subnet({ "10.0.0.0/8" })`},
		{"fmt", []string{"fmt", bad}, 0, "route {\n    cidr 10.0.0.1/8 => direct\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.out)
			}
		})
	}
	// translate -o writes mode 0600.
	lua := filepath.Join(dir, "out.lua")
	if code := run([]string{"translate", "-o", lua, good}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatal(code)
	}
	if st, err := os.Stat(lua); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("translate -o: %v %v", st.Mode(), err)
	}
	// fmt -w is idempotent.
	run([]string{"fmt", "-w", bad}, &bytes.Buffer{}, &bytes.Buffer{})
	var out bytes.Buffer
	run([]string{"fmt", "-l", bad}, &out, &bytes.Buffer{})
	if out.Len() != 0 {
		t.Errorf("fmt -l after fmt -w lists %q", out.String())
	}
}

func TestTestLua(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"test", "--lua", "testdata/conform/rules.nrt"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "2 passed, 0 failed") {
		t.Fatalf("the case did not run on both engines: %s", out.String())
	}
	dir := t.TempDir()
	failing := filepath.Join(dir, "failing.nrt")
	os.WriteFile(failing, []byte("route { cidr 10.0.0.0/8 => reject }\ntest { \"10.1.1.1:80\" => to \"10.1.1.1:80\" }\n"), 0o644)
	out.Reset()
	if code := run([]string{"test", "--lua", failing}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "FAIL lua ") || !strings.Contains(out.String(), "0 passed, 2 failed") {
		t.Fatalf("the Lua failure is not reported: %s", out.String())
	}
}

func TestConform(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"agree", []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/agree.lua",
			"--requests", "testdata/conform/requests.req"}, 0, []string{"agree on"}},
		{"differ", []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/differ.lua"}, 1,
			[]string{"DIVERGENCE", `G    ROUTE "192.168.`, `chain [] events [lan]`, `chain [socks5://gw.lan:1080] events [gw]`}},
		{"coverage", []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/agree.lua", "--min-coverage", "100"}, 0,
			[]string{"coverage 7 of 7 rules hit (100.0%), 0 never missed"}},
		{"coverage too low", []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/agree.lua", "-n", "1",
			"--min-coverage", "100.5"}, 1, []string{"FAIL coverage 100.0% is below --min-coverage 100.5%"}},
		{"usage", []string{"conform", "--dsl", "testdata/conform/rules.nrt"}, 2, nil},
		{"bad lua", []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/requests.req"}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
			for _, s := range tc.out {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// TestConformStable: the same seed gives the same report, byte for byte.
func TestConformStable(t *testing.T) {
	args := []string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/agree.lua", "--seed", "7"}
	var first, second bytes.Buffer
	if code := run(args, &first, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d\n%s", code, first.String())
	}
	run(args, &second, &bytes.Buffer{})
	if first.String() != second.String() {
		t.Errorf("reports differ\n--- first\n%s--- second\n%s", first.String(), second.String())
	}
	if !strings.Contains(first.String(), "coverage ") {
		t.Errorf("no coverage line:\n%s", first.String())
	}
}

// TestConformCoverage: a rule no request can select is listed and fails
// --min-coverage.
func TestConformCoverage(t *testing.T) {
	dir := t.TempDir()
	nrt := filepath.Join(dir, "shadow.nrt")
	lua := filepath.Join(dir, "shadow.lua")
	os.WriteFile(nrt, []byte("redirect_name {\n    domain lan => direct\n    host a.lan => reject\n    port 22 => reject\n}\n"), 0o644)
	if code := run([]string{"translate", "-o", lua, nrt}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatal(code)
	}
	var out bytes.Buffer
	code := run([]string{"conform", "--dsl", nrt, "--lua", lua, "--min-coverage", "90"}, &out, &bytes.Buffer{})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"coverage 2 of 3 rules hit (66.7%)", "never hit    " + nrt + ":3:5 host a.lan", "FAIL coverage 66.7% is below --min-coverage 90%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestConformReadsLuaAsTheDaemon checks that nrt conform reads its Lua
// file as the daemon reads -r: gzip-compressed, with a UTF-8 BOM and a
// "#!" line, it still agrees with the route table.
func TestConformReadsLuaAsTheDaemon(t *testing.T) {
	src, err := os.ReadFile("testdata/conform/agree.lua")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte("\xEF\xBB\xBF#!/usr/bin/env neosocksd -r\n"))
	zw.Write(src)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agree.lua.gz")
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"conform", "--dsl", "testdata/conform/rules.nrt", "--lua", path,
		"--requests", "testdata/conform/requests.req"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "agree on") {
		t.Fatalf("exit %d, want 0 and agreement\n%s%s", code, out.String(), errb.String())
	}
}

// TestConformProve: --prove answers "equal (proved)" or a counterexample
// with nrt conform's exit codes, names what it cannot partition and then
// falls back to the streams, and says the same thing byte for byte twice.
func TestConformProve(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"equal", []string{"conform", "--prove", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/agree.lua"}, 0,
			[]string{"testdata/conform/rules.nrt and testdata/conform/agree.lua: equal (proved): decided alike on "}},
		{"counterexample", []string{"conform", "--prove", "--dsl", "testdata/conform/rules.nrt", "--lua", "testdata/conform/differ.lua"}, 1,
			[]string{"DIFFERENT (proved, auth_required=false): counterexample request ", `G    ROUTE "192.168.`, `chain [socks5://gw.lan:1080] events [gw]`}},
		{"fallback", []string{"conform", "--prove", "--dsl", "../neosocksd/examples/full.nrt", "--lua", "../neosocksd/examples/full.lua"}, 0,
			[]string{"no proof: the request space cannot be partitioned exactly on:\n  regex \"^ads[0-9]*\\\\.example\\\\.(com|net):\"\nfalling back to the generated streams for the whole table\n",
				"agree on", "coverage "}},
		{"usage", []string{"conform", "--prove", "--lua", "testdata/conform/agree.lua"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, again bytes.Buffer
			code := run(tc.args, &out, &bytes.Buffer{})
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, out.String())
			}
			for _, s := range tc.out {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
			run(tc.args, &again, &bytes.Buffer{})
			if out.String() != again.String() {
				t.Errorf("reports differ\n--- first\n%s--- second\n%s", out.String(), again.String())
			}
		})
	}
}
