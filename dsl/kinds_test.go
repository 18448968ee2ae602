package dsl

import (
	goast "go/ast"
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// grammarWords returns the quoted words of the parser tag of field name in
// the AST struct of v.
func grammarWords(t *testing.T, v any, name string) []string {
	t.Helper()
	f, ok := reflect.TypeOf(v).FieldByName(name)
	if !ok {
		t.Fatalf("%T has no field %s", v, name)
	}
	var ws []string
	for _, m := range regexp.MustCompile(`'([a-z0-9]+)'`).FindAllStringSubmatch(f.Tag.Get("parser"), -1) {
		ws = append(ws, m[1])
	}
	sort.Strings(ws)
	return ws
}

// The registry is the one place a matcher kind is added: the grammar's
// kind words and the registered kinds must be the same set, and every set
// kind but list is a registered string or cidr kind.
func TestMatcherKindsMatchGrammar(t *testing.T) {
	var registered []string
	for k := range matcherKinds {
		registered = append(registered, k)
	}
	sort.Strings(registered)
	if got := grammarWords(t, Unary{}, "Kind"); !slices.Equal(got, registered) {
		t.Errorf("grammar kind words %v, registered matcher kinds %v", got, registered)
	}
	for _, w := range grammarWords(t, SetDecl{}, "Kind") {
		k, ok := setKindOf(w)
		if !ok {
			t.Errorf("set kind %q in the grammar has no SetKind", w)
			continue
		}
		if k.String() != w {
			t.Errorf("SetKind of %q prints as %q", w, k)
		}
		if sk, ok := k.strKind(); ok {
			if _, reg := matcherKinds[w].(strKind); !reg || sk.String() != w {
				t.Errorf("string set kind %q is not a registered string matcher kind", w)
			}
		}
	}
}

// The package doc promises one file per matcher kind: the kind registered
// as word is the type wordKind, declared in kind_word.go.
func TestEachMatcherKindHasItsFile(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declaredIn := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*goast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				declaredIn[s.(*goast.TypeSpec).Name.Name] = name
			}
		}
	}
	for word, k := range matcherKinds {
		typ := reflect.TypeOf(k).Name()
		if want := word + "Kind"; typ != want {
			t.Errorf("kind %q is registered as %s, want %s", word, typ, want)
		}
		if got, want := declaredIn[typ], "kind_"+word+".go"; got != want {
			t.Errorf("type %s is declared in %q, want %s", typ, got, want)
		}
	}
}
