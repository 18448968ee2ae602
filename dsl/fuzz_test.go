package dsl

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// FuzzCompile feeds arbitrary source to the whole compiler (parse, check,
// compile, translate, format): it must never panic.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.nrt")
	more, _ := filepath.Glob("testdata/diag/*.nrt")
	for _, name := range append(files, more...) {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("redirect_name { pattern \"%\" => rewrite \"(\" to \"%9\" }")
	f.Add("route { cidr ::/0 => direct }")
	opts := CheckOptions{
		ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		Getenv:   func(string) (string, bool) { return "v", true },
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, d := Check("f.nrt", []byte(src), opts)
		_ = d.Format()
		if out, err := Format("f.nrt", []byte(src)); err == nil && out != nil {
			if _, err := Format("f.nrt", out); err != nil {
				t.Fatalf("formatted output does not parse: %v\n%s", err, out)
			}
		}
		if p == nil {
			return
		}
		_ = Translate(p)
		tbl, err := Compile(p)
		if err != nil {
			return
		}
		env := &Env{Resolve: FakeResolver(map[string]string{"a.example": "10.0.0.1"})}
		for _, a := range []string{"a.example:80", "10.0.0.1:443", "[::1]:53", "bad", "A.EXAMPLE.:0x50"} {
			for _, cb := range []route.Callback{route.Resolve, route.Route, route.Route6} {
				tbl.Decide(context.Background(), cb, a, route.Credentials{}, env)
			}
		}
	})
}

// FuzzDecide feeds arbitrary addresses to the compiled examples.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{"example.com:443", "1.2.3.4:80", "[::1]:53", "x.legacy.example:80",
		"WIKI.corp.example.:443", ":80", "[]:80", "::1:80", "host", "a..b.:080", "\u212Aelvin.lan:1"} {
		f.Add(s, uint8(0))
	}
	var tables []*Table
	for _, n := range []string{"ex1.nrt", "ex2.nrt", "ex3.nrt", "ex4.nrt"} {
		tbl, err := Compile(loadExample(f, n))
		if err != nil {
			f.Fatal(err)
		}
		tables = append(tables, tbl)
	}
	env := &Env{Resolve: FakeResolver(map[string]string{"x.new.example": "203.0.113.7"})}
	f.Fuzz(func(t *testing.T, a string, cb uint8) {
		for _, tbl := range tables {
			d, _ := tbl.Decide(context.Background(), route.Callback(cb%3), a, route.Credentials{}, env)
			tr := &Trace{}
			e2 := *env
			e2.Trace = tr
			if cb%3 == 0 { // lb state advances on every call; compare only stateless paths
				continue
			}
			_ = d
		}
	})
}
