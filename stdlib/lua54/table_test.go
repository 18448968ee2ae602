package lua54

import (
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

func items(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(i + 1)
	}
	return strings.Join(s, ", ")
}

// TestTableRewriteOnlyAffected: only a constructor with a keyed field right
// after a positive multiple of 50 positional items leaves the compiler's
// own path.
func TestTableRewriteOnlyAffected(t *testing.T) {
	for _, c := range []struct {
		src     string
		rewrite bool
	}{
		{"return {}", false},
		{"return {k = 1, " + items(100) + "}", false},
		{"return {" + items(49) + ", k = f()}", false},
		{"return {" + items(51) + ", k = f(), [1] = 2}", false},
		{"return {" + items(100) + ", ...}", false},
		{"return {" + items(50) + ", k = 1}", true},
		{"return {" + items(100) + ", [f()] = f()}", true},
		{"return {" + items(49) + ", x = 1, 50, [1] = 1, 51}", true},
	} {
		stmts, err := Parse([]byte(c.src), "=t")
		if err != nil {
			t.Fatal(err)
		}
		e := stmts[0].(*ast.ReturnStmt).Exprs[0]
		_, plain := e.(*ast.TableExpr)
		if plain == c.rewrite {
			t.Errorf("%.60s...: rewritten %v, want %v", c.src, !plain, c.rewrite)
		}
	}
}

// BenchmarkTableConstructor compares an ordinary 100-item constructor with
// one that is rewritten (the key after the 100th item).
func BenchmarkTableConstructor(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"plain", "local k = ... return {name = k, " + items(100) + "}"},
		{"rewritten", "local k = ... return {" + items(100) + ", name = k}"},
	} {
		b.Run(c.name, func(b *testing.B) {
			L := lua.NewState()
			defer L.Close()
			fn, err := Load(L, []byte(c.src), "=bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				L.Push(fn)
				L.Push(lua.LString("x"))
				L.Call(1, 1)
				if L.Get(-1).(*lua.LTable).Len() != 100 {
					b.Fatal("bad table")
				}
				L.Pop(1)
			}
		})
	}
}
