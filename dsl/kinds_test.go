package dsl

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
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
