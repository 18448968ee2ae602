package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CloneHead returns git's HEAD when the working directory is inside a
// plain git clone, whose revision the go command stamps into binaries
// built with -buildvcs=auto; "" when it is not (no git, an exported tree,
// or a worktree, whose .git is a file the go command ignores).
func CloneHead(tb testing.TB) string {
	tb.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	root := strings.TrimSpace(string(top))
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		tb.Logf("%s is not a plain git clone: no revision to compare", root)
		return ""
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(head))
}
