package main

import (
	"bytes"
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
