package conformance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The suite learns a route table's literals from dsl.Leaf, so a new
// matcher kind brings them from its own file: no file of the suite but
// prove.go (which builds the L-IR of a Lua ruleset it reads) names a
// kind's L-IR node or string kind.
func TestNoMatcherKindSwitches(t *testing.T) {
	kindNames := map[string]bool{"MStr": true, "MPort": true, "MCIDR": true, "StrKind": true, "KExact": true, "KHost": true, "KDomain": true, "KPattern": true, "KRegex": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "prove.go" || strings.HasSuffix(name, "_test.go") && name != "mutation_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "dsl" && kindNames[sel.Sel.Name] {
					t.Errorf("%s: names dsl.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
