package testkit

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir with a fixed identity, failing the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// In a plain clone CloneHead is git's HEAD; in a worktree of it, whose
// .git is a file, it is "".
func TestCloneHead(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	git(t, repo, "commit", "-q", "--allow-empty", "-m", "one")
	want := git(t, repo, "rev-parse", "HEAD")
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, repo, "worktree", "add", "-q", "--detach", wt)

	t.Run("clone", func(t *testing.T) {
		t.Chdir(repo)
		if got := CloneHead(t); got != want {
			t.Fatalf("CloneHead = %q, want %q", got, want)
		}
	})
	t.Run("worktree", func(t *testing.T) {
		t.Chdir(wt)
		if got := CloneHead(t); got != "" {
			t.Fatalf("CloneHead in a worktree = %q, want \"\"", got)
		}
	})
}
