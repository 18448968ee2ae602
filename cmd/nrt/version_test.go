package main

import (
	debugbuildinfo "debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/buildinfo"
	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// readmeInstall finds the README's go install command lines (in code
// blocks or inline code) that install nrt.
var readmeInstall = regexp.MustCompile("(?m)(?:^|`)(go install [^`\n#]*cmd/nrt[^`\n#]*)")

// TestReadmeInstallsNrt runs the README's go install commands for nrt, as a
// user with a clone would, and checks that each installs from the clone
// (a module@version would need the module to be published) and that the
// installed nrt --version reports what it was built from: the build
// information debug/buildinfo reads from the file and, in a plain git
// clone, git's HEAD.
func TestReadmeInstallsNrt(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeInstall.FindAllStringSubmatch(string(readme), -1)
	if len(cmds) == 0 {
		t.Fatal("README has no go install command for nrt")
	}
	for _, m := range cmds {
		line := strings.TrimSpace(m[1])
		t.Run(line, func(t *testing.T) {
			args := strings.Fields(line)[1:]
			for _, a := range args[1:] {
				if !strings.HasPrefix(a, "./") {
					t.Fatalf("%q installs %s, which is not a package of the clone", line, a)
				}
			}
			gobin := t.TempDir()
			install := exec.Command("go", args...)
			install.Dir = "../.."
			// -buildvcs=auto as in a user's environment: stamp the revision
			// when the go command finds the repository.
			install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-buildvcs=auto")
			if out, err := install.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			bin := filepath.Join(gobin, "nrt")
			out, err := exec.Command(bin, "--version").Output()
			if err != nil {
				t.Fatalf("nrt --version: %v", err)
			}
			bi, err := debugbuildinfo.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			if want := "nrt " + buildinfo.From(bi).String() + "\n"; string(out) != want {
				t.Fatalf("nrt --version printed %q, want %q", out, want)
			}
			if head := testkit.CloneHead(t); head != "" && !strings.Contains(string(out), "revision "+head) {
				t.Fatalf("nrt --version printed %q, want revision %s", out, head)
			}
		})
	}
}
