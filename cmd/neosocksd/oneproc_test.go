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
	var order []string
	before, found := 0, false
	for _, in := range initTrace(t) {
		order = append(order, in.pkg)
		if in.pkg == pkg {
			found = true
		} else if !found {
			before += in.bytes
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

// initRecord is one line of the runtime's trace of the package
// initializers: "init PKG @T ms, D ms clock, B bytes, A allocs".
type initRecord struct {
	pkg           string
	bytes, allocs int
}

// initTrace runs the built daemon with GODEBUG=inittrace=1 and returns
// its initializers in the order they ran.
func initTrace(t *testing.T) []initRecord {
	t.Helper()
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
	var trace []initRecord
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 11 || f[0] != "init" || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		b, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", sc.Text(), err)
		}
		a, err := strconv.Atoi(f[9])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", sc.Text(), err)
		}
		trace = append(trace, initRecord{pkg: f[1], bytes: b, allocs: a})
	}
	if len(trace) == 0 {
		t.Fatalf("no initializers in the trace:\n%s", stderr.String())
	}
	return trace
}

// TestInitializersBuildOnlyWhatEveryRunUses checks that our packages'
// initializers build little, and that the packages only a ruleset uses
// (the route tables, the Lua front end and libraries, the Lua host, the
// regex engine) have no initializer work at all: what they need is built
// on first use, so that a daemon without a ruleset neither keeps it on its
// heap nor touches their code at start, and with it the 64 KiB around
// each initializer that the kernel maps on the fault (EXPERIMENTS.md,
// section 19).
func TestInitializersBuildOnlyWhatEveryRunUses(t *testing.T) {
	const module = "github.com/neosocksd-go/neosocksd/"
	// All of ours: about 5.6 KB with Go 1.26 (oneproc's drop to one
	// processor, main's build information, core/api's error text); 201 KB
	// when the Lua integers' metatable and the route tables' lexer were
	// built at start.
	const maxOurs = 16 << 10
	lazy := map[string]bool{
		module + "dsl":          true,
		module + "stdlib":       true,
		module + "stdlib/lua54": true,
		module + "script":       true,
		module + "core/ere":     true,
	}
	ours := 0
	var list []string
	for _, in := range initTrace(t) {
		if in.pkg != "main" && !strings.HasPrefix(in.pkg, module) {
			continue
		}
		ours += in.bytes
		list = append(list, in.pkg+" "+strconv.Itoa(in.bytes)+" bytes")
		// The trace lists only packages with initializer work.
		if lazy[in.pkg] {
			t.Errorf("%s has initializer work (%d bytes in %d allocations), want none", in.pkg, in.bytes, in.allocs)
		}
	}
	if ours > maxOurs {
		t.Errorf("our initializers allocated %d bytes, want at most %d:\n%s", ours, maxOurs, strings.Join(list, "\n"))
	}
}
