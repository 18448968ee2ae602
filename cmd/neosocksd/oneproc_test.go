package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestOneProcessorBeforeInitializersAllocate checks that the daemon drops
// to one processor before the package initializers that allocate run
// (internal/oneproc's doc says why): in the runtime's own trace of the
// initializers, oneproc's comes before the Lua and regex packages', with
// little allocated before it.
func TestOneProcessorBeforeInitializersAllocate(t *testing.T) {
	const pkg = "github.com/neosocksd-go/neosocksd/cmd/neosocksd/internal/oneproc"
	// Allocated by initializers before oneproc's: about 19 KB with Go
	// 1.26 (runtime/metrics and unicode); 80 KB when it waited for
	// rtdefaults' imports.
	const maxBefore = 32 << 10
	// This test binary imports oneproc through main.go as the daemon does.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set && runtime.GOMAXPROCS(0) != 1 {
		t.Errorf("GOMAXPROCS unset: %d processors, want 1", runtime.GOMAXPROCS(0))
	}
	cmd := exec.Command(binPath, "--version")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GODEBUG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--version: %v\n%s", err, stderr.String())
	}
	// Lines read: "init PKG @T ms, D ms clock, B bytes, A allocs".
	var order []string
	before, found := 0, false
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 11 || f[0] != "init" || f[10] != "allocs" {
			continue
		}
		b, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", sc.Text(), err)
		}
		order = append(order, f[1])
		if f[1] == pkg {
			found = true
		} else if !found {
			before += b
		}
	}
	if !found {
		t.Fatalf("no initializer of %s in the trace:\n%s", pkg, strings.Join(order, "\n"))
	}
	if before > maxBefore {
		t.Errorf("initializers allocated %d bytes before oneproc's, want at most %d; order:\n%s", before, maxBefore, strings.Join(order, "\n"))
	}
	for _, later := range []string{"github.com/yuin/gopher-lua", "github.com/neosocksd-go/neosocksd/stdlib/lua54", "github.com/dlclark/regexp2/syntax"} {
		for _, p := range order {
			if p == pkg {
				break
			}
			if p == later {
				t.Errorf("%s initialized before oneproc", later)
			}
		}
	}
}
