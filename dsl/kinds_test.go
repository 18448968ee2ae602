package dsl

import (
	goast "go/ast"
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The registry is the one place a matcher kind is added: the grammar
// names no kind, and takes every registered word where a matcher or a
// set's kind starts, and nothing else there.
func TestGrammarTakesRegisteredKinds(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(unary{}), reflect.TypeOf(setDecl{})} {
		f, _ := typ.FieldByName("Kind")
		for _, w := range kindWords() {
			if strings.Contains(f.Tag.Get("parser"), "'"+w+"'") {
				t.Errorf("the grammar of %s.Kind names the kind %q", typ.Name(), w)
			}
		}
	}
	parses := func(src string) (*file, bool) {
		f, err := parser.get().ParseString("k.nrt", src)
		return f, err == nil
	}
	for _, w := range kindWords() {
		f, ok := parses("redirect_name { " + w + " v => direct }")
		if !ok {
			t.Errorf("kind %q does not parse", w)
			continue
		}
		if got := f.Decls[0].Table.Rules[0].Expr.Or[0].And[0].Kind; string(got) != w || got.kind() == nil {
			t.Errorf("kind %q parsed as %q", w, got)
		}
		for _, bad := range []string{w + "s", `"` + w + `"`, strings.ToUpper(w)} {
			if _, ok := parses("redirect_name { " + bad + " v => direct }"); ok {
				t.Errorf("%s parsed as a matcher kind", bad)
			}
		}
	}
}

// Every set kind parses and names its SetKind; a string set kind is a
// registered string matcher kind.
func TestSetKindsParse(t *testing.T) {
	parses := func(src string) (*file, bool) {
		f, err := parser.get().ParseString("k.nrt", src)
		return f, err == nil
	}
	for k := SetKind(0); k < nSetKind; k++ {
		w := k.String()
		f, ok := parses("set s " + w + " { v }")
		if !ok || string(f.Decls[0].Set.Kind) != w {
			t.Errorf("set kind %q does not parse", w)
		}
		if got, ok := setKindOf(w); !ok || got != k {
			t.Errorf("setKindOf(%q) = %v, %v", w, got, ok)
		}
		if sk, ok := k.strKind(); ok {
			kind, _ := kindByWord(w)
			if _, reg := kind.(strKind); !reg || sk.String() != w {
				t.Errorf("string set kind %q is not a registered string matcher kind", w)
			}
		}
	}
	if _, ok := parses("set s sets { v }"); ok {
		t.Errorf("set kind sets parsed")
	}
}

// declaredIn maps each type, constant and variable that the non-test Go
// files matching glob declare at package level to its file.
func declaredIn(t *testing.T, glob string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*goast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				switch s := s.(type) {
				case *goast.TypeSpec:
					out[s.Name.Name] = name
				case *goast.ValueSpec:
					for _, n := range s.Names {
						if n.Name != "_" {
							out[n.Name] = name
						}
					}
				}
			}
		}
	}
	return out
}

// The package doc promises one file per matcher kind: the kind registered
// as word is the type wordKind, declared in kind_word.go.
func TestEachMatcherKindHasItsFile(t *testing.T) {
	declared := declaredIn(t, "*.go")
	for _, reg := range matcherKinds {
		word, k := reg.word, reg.kind
		typ := reflect.TypeOf(k).Name()
		if want := word + "Kind"; typ != want {
			t.Errorf("kind %q is registered as %s, want %s", word, typ, want)
		}
		if got, want := declared[typ], "kind_"+word+".go"; got != want {
			t.Errorf("type %s is declared in %q, want %s", typ, got, want)
		}
	}
}

// The grammar, the messages and the segment index know the kinds only
// through the registry and the methods of their matchers: ast.go, diag.go
// and segment.go name no type or constant of a kind_*.go file and, but
// for ast.go's other productions, no kind word.
func TestKindAgnosticFiles(t *testing.T) {
	kindNames := declaredIn(t, "kind_*.go")
	fset := token.NewFileSet()
	word := regexp.MustCompile(`\b(` + strings.Join(kindWords(), "|") + `)\b`)
	for _, name := range []string{"ast.go", "diag.go", "segment.go"} {
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		goast.Inspect(f, func(n goast.Node) bool {
			switch n := n.(type) {
			case *goast.Ident:
				if kindNames[n.Name] != "" {
					t.Errorf("%s: %s names %s of a kind file", fset.Position(n.Pos()), name, n.Name)
				}
			case *goast.BasicLit:
				if n.Kind == token.STRING && name != "ast.go" && word.MatchString(n.Value) {
					t.Errorf("%s: %s spells a kind word in %s", fset.Position(n.Pos()), name, n.Value)
				}
			}
			return true
		})
	}
}

// The grammar's types are the package's own: ast.go exports nothing.
func TestGrammarTypesUnexported(t *testing.T) {
	for name := range declaredIn(t, "ast.go") {
		if goast.IsExported(name) {
			t.Errorf("ast.go exports %s", name)
		}
	}
}
