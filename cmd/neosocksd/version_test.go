package main

import (
	debugbuildinfo "debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/buildinfo"
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
	if head := cloneHead(t); head != "" && !strings.Contains(string(out), "revision "+head) {
		t.Fatalf("--version printed %q, want revision %s", out, head)
	}
}

// cloneHead returns git's HEAD when the module is a plain git clone, whose
// revision the go command stamps; "" when it is not (no git, an exported
// tree, or a worktree, whose .git is a file the go command ignores).
func cloneHead(t *testing.T) string {
	t.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	root := strings.TrimSpace(string(top))
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		t.Logf("%s is not a plain git clone: no revision to compare", root)
		return ""
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(head))
}
