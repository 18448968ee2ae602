package main

import (
	debugbuildinfo "debug/buildinfo"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/buildinfo"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// TestVersionFlag builds the daemon as a user would from a checkout
// (-buildvcs=auto: the revision is stamped when the go command finds the
// repository) and checks --version against the build information that
// debug/buildinfo reads from the file and, in a plain git clone, against
// git's HEAD.
func TestVersionFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "neosocksd")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	bi, err := debugbuildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := "neosocksd " + buildinfo.From(bi).String() + "\n"; string(out) != want {
		t.Fatalf("--version printed %q, want %q", out, want)
	}
	if head := testkit.CloneHead(t); head != "" && !strings.Contains(string(out), "revision "+head) {
		t.Fatalf("--version printed %q, want revision %s", out, head)
	}
}
