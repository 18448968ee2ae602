package dsl

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestMutants(t *testing.T) {
	src := []byte(`upstream a = "socks5://a.lan:1080"
upstream b = "socks5://b.lan:1080"
redirect_name {
    host two.test and port 1000-2000 => proxy a, b tag t
    regex ` + "`^x\\.test:`" + ` => reject
    pattern "^[%w-]+%.onion:%d+$" => direct
    domain one.test, three.test => redirect 10.0.0.1:80
}
route { cidr 10.0.0.0/8 => direct }
`)
	ms, err := Mutants("m.nrt", src)
	if err != nil {
		t.Fatal(err)
	}
	var descs []string
	for _, m := range ms {
		if string(m.Src) == string(src) {
			t.Errorf("mutant %q is the original", m.Desc)
		}
		if p, d := Check("m.nrt", m.Src, CheckOptions{}); p == nil {
			t.Errorf("mutant %q does not check:\n%s", m.Desc, d.Format())
		}
		descs = append(descs, m.Desc)
	}
	for _, want := range []string{
		"port 1000-2000 -> 999-2000", "port 1000-2000 -> 1001-2000", "port 1000-2000 -> 1000-1999", "port 1000-2000 -> 1000-2001",
		"host two.test -> domain two.test", "host two.test -> exact two.test:443", "domain one.test, three.test -> host one.test, three.test",
		"regex `^x\\.test:` -> `x\\.test:`", `pattern "^[%w-]+%.onion:%d+$" -> "^[%w-]+%.onion:%d$"`,
		`pattern "^[%w-]+%.onion:%d+$" -> "^[%w-]+%.onion:%d*$"`, `pattern "^[%w-]+%.onion:%d+$" -> "[%w-]+%.onion:%d+$"`,
		"cidr 10.0.0.0/8 -> 10.0.0.0/7", "cidr 10.0.0.0/8 -> 10.0.0.0/9", "domain value one.test dropped", "hop a -> b", "hop a dropped",
		"tag t dropped", "tag t -> renamed_t", "rule action direct -> reject", "rule action reject -> direct", "and -> or",
		"rules at lines 4 and 5 swapped", "redirect 10.0.0.1:80 -> 10.0.0.1:81", "default direct -> reject",
	} {
		if !slices.Contains(descs, want) {
			t.Errorf("no mutant %q among\n%q", want, descs)
		}
	}
	again, _ := Mutants("m.nrt", src)
	if len(again) != len(ms) {
		t.Errorf("not deterministic: %d then %d mutants", len(ms), len(again))
	}
}

// TestMutantsOfExamples: every example yields mutants, and the checker
// accepts all of them (the mutator keeps ranges, prefixes and syntax
// valid).
func TestMutantsOfExamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/ex*.nrt")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := Mutants(f, src)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) < 20 {
			t.Errorf("%s: only %d mutants", f, len(ms))
		}
		for _, m := range ms {
			if p, d := Check(filepath.Base(f), m.Src, dirOptions("testdata")); p == nil {
				t.Errorf("%s: mutant %q does not check:\n%s", f, m.Desc, d.Format())
			}
		}
	}
}

// FuzzMutants: whatever parses can be mutated without a panic, and every
// mutant differs from its original.
func FuzzMutants(f *testing.F) {
	for _, s := range []string{
		"redirect_name { host a.test and port 1-2 => proxy \"socks5://h:1\", \"socks5://g:1\" tag t }\n",
		"route { cidr 10.0.0.0/8, 1.2.3.4 => direct }\ndefault => reject tag d\n",
		"action x = roundrobin { direct; reject }\naction y = weighted { 1 direct; 2 reject; }\nredirect_name { not regex `^a$` or pattern \"%d+\" => x }\n",
		"hosts { a = 1.2.3.4  b = c }\nusers { u = \"p\"  v = any }\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ms, err := Mutants("f.nrt", []byte(src))
		if err != nil {
			return
		}
		for _, m := range ms {
			if string(m.Src) == src && m.Op != "swap" {
				t.Fatalf("mutant %q is the original", m.Desc)
			}
		}
	})
}

// A source that does not parse is refused with participle's message, the
// productions named as they always were.
func TestMutantsParseError(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"dns", "test {\n    dns = 10.0.0.1\n}\n", `mutate m.nrt: m.nrt:2:9: unexpected token "=" (expected DNSEntry)`},
		{"set kind", "set s bogus { a }\n", `mutate m.nrt: m.nrt:1:7: unexpected token "bogus" (expected ("exact" | "host" | "domain" | "pattern" | "regex" | "cidr" | "list") (("{" (Value ("," Value)* ","?)? "}") | ("from" Str "optional"?) | "external"))`},
		{"kindWord token", "set s kindWord { a }\n", `mutate m.nrt: m.nrt:1:7: unexpected token "kindWord" (expected ("exact" | "host" | "domain" | "pattern" | "regex" | "cidr" | "list") (("{" (Value ("," Value)* ","?)? "}") | ("from" Str "optional"?) | "external"))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Mutants("m.nrt", []byte(tc.src))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}
