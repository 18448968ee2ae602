package dsl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// setBodyCases are sources whose inline sets the scan reads, or must
// leave to the grammar.
var setBodyCases = []string{
	"set a domain {\n  x.example, \"y.example\", `z`,\n # c\n w }\nroute { any => direct }\nredirect_name { in a => reject }",
	"set a domain { env, set, domain }\nset b cidr {\n 1.2.3.0/24,\n 10.0.0.0/8,\n}\nroute { in b => reject }\nredirect_name { in a => reject tag set }",
	"set a exact { a:1, b:2 } set b host { h }\nredirect_name { in a => reject\n in b => direct }",
	"set a domain { bücher.de, ü } route { any => direct }\nset b domain {\n ä,\n b }  set c domain {}",
	"set a domain { env(\"X\"), b }",
	"set a domain { x y }",
	"set a domain { x, { y } }",
	"set a domain { , }",
	"set a domain { x,, y }",
	"set a domain { x",
	"set a domain { x, \"y }",
	"default => reject tag set a domain { x }",
	"set a domain { x } optional",
	"set a bogus { x, y }",
	"set a domain { x, y } set a domain { z }",
	"hosts { a = b } set h host { a, b } test { \"a:1\" => reject }",
	"test { \"a:1\" => reject } set a domain { x } route { in a => reject }",
}

// setBodySources are the test files, setBodyCases and, for each, the
// sources with one of its fields deleted or a token inserted before it:
// sets broken in every place the scan must notice.
func setBodySources(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.nrt")
	more, _ := filepath.Glob("testdata/diag/*.nrt")
	srcs := append([]string(nil), setBodyCases...)
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	n := len(srcs)
	for i := 0; i < n; i++ {
		fields := strings.Fields(srcs[i])
		if len(fields) > 300 {
			continue
		}
		for k := range fields {
			join := func(mid ...string) string {
				parts := append(append(append([]string(nil), fields[:k]...), mid...), fields[k:]...)
				return strings.Join(parts, " ")
			}
			srcs = append(srcs, strings.Join(append(append([]string(nil), fields[:k]...), fields[k+1:]...), " "))
			for _, ins := range []string{"set", "{", "}", ",", "env(", `"q"`, "`r`", "x"} {
				srcs = append(srcs, join(ins))
			}
		}
	}
	return srcs
}

// TestParseFileIsTheGrammar checks that parseFile, which reads inline
// sets itself, gives the AST (token ranges aside) or the error the
// grammar gives for the same source.
func TestParseFileIsTheGrammar(t *testing.T) {
	scanned := 0
	srcs := setBodySources(t)
	for _, src := range srcs {
		if _, bodies := scanSetBodies("t.nrt", []byte(src)); len(bodies) > 0 {
			scanned++
		}
		if msg := sameParse(src); msg != "" {
			t.Fatalf("%s\nsource:\n%s", msg, src)
		}
	}
	// The cases must reach the scan's path, not only the fallback.
	t.Logf("%d sources, %d with sets read by the scan", len(srcs), scanned)
	if scanned < 100 {
		t.Fatalf("only %d sources had inline sets read by the scan", scanned)
	}
}

// FuzzParseFile compares parseFile with the grammar on arbitrary source.
func FuzzParseFile(f *testing.F) {
	for _, src := range setBodyCases {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if msg := sameParse(src); msg != "" {
			t.Fatal(msg)
		}
	})
}

// sameParse returns what differs between parseFile and the grammar on
// src, or "".
func sameParse(src string) string {
	got, gotErr := parseFile("t.nrt", []byte(src))
	want, wantErr := parser.get().ParseBytes("t.nrt", []byte(src))
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		return fmt.Sprintf("error %v, the grammar's %v", gotErr, wantErr)
	}
	if gotErr != nil {
		return ""
	}
	clearTokens(reflect.ValueOf(got))
	clearTokens(reflect.ValueOf(want))
	if !reflect.DeepEqual(got, want) {
		return "the AST differs from the grammar's"
	}
	return ""
}

// clearTokens zeroes every Tokens field of the AST under v: the token
// ranges of a set whose members were read by the scan cover a blank.
func clearTokens(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearTokens(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearTokens(v.Index(i))
		}
	case reflect.Struct:
		if f := v.FieldByName("Tokens"); f.IsValid() && f.Type() == reflect.TypeOf([]lexer.Token(nil)) {
			f.SetZero()
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				clearTokens(v.Field(i))
			}
		}
	}
}

// TestLoadGarbageBound bounds the bytes a load of the heavy table
// allocates: 48 MB when participle lexed and parsed every member of its
// sets, 9.2 MB with the scan. The garbage is what lets the heap, and the
// daemon's VmHWM, peak during a load (EXPERIMENTS.md section 21).
func TestLoadGarbageBound(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 10 000-name table")
	}
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates too")
	}
	total, live := loadAlloc(t, heavyTable(t, 10000))
	t.Logf("allocated %.1f MB, live after the load %.2f MB", float64(total)/1e6, float64(live)/1e6)
	if total > 16e6 {
		t.Fatalf("loading the heavy table allocated %.1f MB, over 16 MB", float64(total)/1e6)
	}
}

// TestUpdateCollects checks that a table installed by an update is
// followed by a collection: the previous table and the load's garbage go
// then, not when the heap next doubles, so that reloads do not pile up.
func TestUpdateCollects(t *testing.T) {
	e, err := LoadFile(heavyTable(t, 100), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := e.Update(context.Background(), "", "", []byte("route { any => direct }")); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.NumForcedGC - before.NumForcedGC; n != 1 {
		t.Fatalf("%d collections forced by an update, want 1", n)
	}
}
