package lua54

import (
	"os"
	"os/exec"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestKeywords: the keyword switch and the names of the keyword kinds
// agree, and nothing else is a keyword.
func TestKeywords(t *testing.T) {
	for i, name := range keywordNames {
		k, ok := keyword(name)
		if !ok || k != tAnd+tokKind(i) {
			t.Errorf("keyword(%q) = %d, %v, want %d", name, k, ok, tAnd+tokKind(i))
		}
		if got := kindText(tAnd + tokKind(i)); got != "'"+name+"'" {
			t.Errorf("kindText(%d) = %s, want '%s'", tAnd+tokKind(i), got, name)
		}
	}
	for _, name := range []string{"", "And", "ends", "els", "_ENV", "self", "continue", "integer"} {
		if k, ok := keyword(name); ok {
			t.Errorf("keyword(%q) = %d, want a name", name, k)
		}
	}
	for k, want := range map[tokKind]string{tConcat: "..", tDots: "...", tNe: "~=", tIdiv: "//", tDbColon: "::", tName: "", tChar + '+': ""} {
		if got := symbolText(k); got != want {
			t.Errorf("symbolText(%d) = %q, want %q", k, got, want)
		}
	}
}

// TestFirstBoxesConcurrently: the integer metatable is not built until the
// first box, and boxes made at once by several goroutines, before any
// other, share one (run with -race). Nor is lua.CompatVarArg cleared
// before the first Load (TestLoadClearsCompatVarArg). The test runs itself in a fresh
// process so that no other test has boxed an integer before it.
func TestFirstBoxesConcurrently(t *testing.T) {
	if os.Getenv("LUA54_FIRST_BOX") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFirstBoxesConcurrently$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LUA54_FIRST_BOX=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fresh process: %v\n%s", err, out)
		}
		return
	}
	if intMeta.Load() != nil {
		t.Fatal("the integer metatable was built before any box")
	}
	if !lua.CompatVarArg {
		t.Fatal("lua.CompatVarArg was cleared before any Load")
	}
	if _, ok := BigInteger(&lua.LUserData{Value: int64(1)}); ok {
		t.Fatal("a userdata without the metatable reads as a boxed integer")
	}
	const workers = 8
	boxes := make([]*lua.LUserData, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			boxes[w] = box(1<<60 + int64(w))
		}()
	}
	close(start)
	wg.Wait()
	mt := intMeta.Load()
	if mt == nil {
		t.Fatal("no metatable after the first boxes")
	}
	for w, b := range boxes {
		if b.Metatable != lua.LValue(mt) {
			t.Errorf("box %d has another metatable", w)
		}
		if i, ok := BigInteger(b); !ok || i != 1<<60+int64(w) {
			t.Errorf("BigInteger(box %d) = %d, %v", w, i, ok)
		}
	}
}

// TestLoadClearsCompatVarArg: whatever ran before, a chunk from Load runs
// with Lua 5.4's varargs: no implicit "arg" table.
func TestLoadClearsCompatVarArg(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	fn, err := Load(L, []byte("local function f(...) return arg end return f(1, 2)"), "=t")
	if err != nil {
		t.Fatal(err)
	}
	if lua.CompatVarArg {
		t.Fatal("lua.CompatVarArg still set after Load")
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if got := L.Get(-1); got != lua.LNil {
		t.Fatalf("arg in a vararg function = %v, want nil", got)
	}
}
