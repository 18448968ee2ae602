package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleDir holds the files users start from (see examples/README.md).
const exampleDir = "examples"

// TestExamplesLoad loads every Lua and route-table example the way
// start-up would, with --check: each must pass with no warning.
func TestExamplesLoad(t *testing.T) {
	how := map[string][]string{
		"minimal.lua": {"-l", "127.0.0.1:0", "-r"},
		"full.lua":    {"-l", "127.0.0.1:0", "-r"},
		"minimal.nrt": {"-l", "127.0.0.1:0", "-r"},
		"full.nrt":    {"-l", "127.0.0.1:0", "-r"},
		"config.lua":  {"-c"},
		// checked by TestExampleUnit and TestExampleContainerfile
		"neosocksd.service": nil,
		"Containerfile":     nil,
		"README.md":         nil,
	}
	entries, err := os.ReadDir(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		args, known := how[e.Name()]
		if !known {
			t.Errorf("examples/%s: no test loads it; add it to this table", e.Name())
			continue
		}
		if args == nil {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			args := append(args, filepath.Join(exampleDir, e.Name()), "--check")
			status, stdout, stderr := runOnce(t, args...)
			if status != 0 || stdout != "configuration ok\n" {
				t.Fatalf("neosocksd %s: status %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), status, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("the example is not clean:\n%s", stderr)
			}
		})
	}
}

// unitDirectives reads a systemd unit into directive -> values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: not a directive: %q", path, line)
			continue
		}
		out[k] = append(out[k], v)
	}
	return out
}

// inExamples maps the installed paths of a unit or image onto this
// directory, so that their command lines can run here.
func inExamples(args []string, installed string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, installed, exampleDir+"/")
	}
	return out
}

func TestExampleUnit(t *testing.T) {
	u := unitDirectives(t, filepath.Join(exampleDir, "neosocksd.service"))
	if got := u["Type"]; len(got) != 1 || got[0] != "notify" {
		t.Errorf("Type = %q, want notify (the daemon sends READY=1 when it listens)", got)
	}
	if r := strings.Join(u["ExecReload"], "\n"); !strings.Contains(r, "kill -HUP $MAINPID") {
		t.Errorf("ExecReload does not send SIGHUP:\n%s", r)
	}
	start := u["ExecStart"]
	if len(start) != 1 {
		t.Fatalf("ExecStart = %q", start)
	}
	// The unit's command lines are valid here: the daemon's options, and
	// the files they name pass the check.
	for _, cmd := range append(append([]string{}, start...), append(u["ExecStartPre"], u["ExecReload"]...)...) {
		f := strings.Fields(cmd)
		if !strings.HasSuffix(f[0], "/neosocksd") {
			continue
		}
		args := inExamples(f[1:], "/etc/neosocksd/")
		if _, err := parseArgs(args); err != nil {
			t.Errorf("%q: %v", cmd, err)
		}
		if !strings.Contains(cmd, "--check") {
			args = append(args, "--check")
		}
		if status, _, stderr := runOnce(t, args...); status != 0 {
			t.Errorf("%q does not pass --check here:\n%s", cmd, stderr)
		}
	}
	if pre := strings.Join(u["ExecStartPre"], "\n"); !strings.Contains(pre, "--check") {
		t.Errorf("ExecStartPre does not check the configuration: %q", pre)
	}
}

func TestExampleContainerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(exampleDir, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..") // the build context: the clone's root
	copyLine := regexp.MustCompile(`(?m)^COPY\s+(.+)$`)
	for _, m := range copyLine.FindAllStringSubmatch(string(b), -1) {
		f := strings.Fields(m[1])
		if strings.HasPrefix(f[0], "--from=") {
			continue
		}
		for _, src := range f[:len(f)-1] {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
		}
	}
	build := regexp.MustCompile(`go build [^\n]*?(\./cmd/\w+)`)
	built := build.FindAllStringSubmatch(string(b), -1)
	if len(built) != 2 {
		t.Errorf("the image builds %d binaries, want neosocksd and nrt", len(built))
	}
	for _, m := range built {
		if _, err := os.Stat(filepath.Join(root, m[1], "main.go")); err != nil {
			t.Errorf("go build %s: %v", m[1], err)
		}
	}
	cmdLine := regexp.MustCompile(`(?m)^CMD\s+(\[.*\])$`)
	m := cmdLine.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no CMD in exec form")
	}
	var args []string
	if err := json.Unmarshal([]byte(m[1]), &args); err != nil {
		t.Fatalf("CMD %s: %v", m[1], err)
	}
	args = append(inExamples(args, "/etc/neosocksd/"), "--check")
	if status, _, stderr := runOnce(t, args...); status != 0 {
		t.Errorf("the image's CMD does not pass --check here:\n%s", stderr)
	}
}
