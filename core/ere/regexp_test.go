package ere

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		flags   Flags
		want    string
	}{
		{"unmatched paren", "(a", Extended, `Unmatched ( or \(`},
		{"unmatched bre paren", `\(a`, 0, `Unmatched ( or \(`},
		{"bracket", "[a", Extended, "Unmatched [, [^, [:, [., or [="},
		{"bracket at end", "[", Extended, "Invalid regular expression"},
		{"repeat at start", "*a", Extended, "Invalid preceding regular expression"},
		{"brace", "a{1", Extended, `Unmatched \{`},
		{"brace content", "a{1,x}", Extended, `Invalid content of \{\}`},
		{"class", "[[:nope:]]", Extended, "Invalid character class name"},
		{"collation", "[[.ab.]]", Extended, "Invalid collation character"},
		{"range", "[b-a]", Extended, "Invalid range end"},
		{"backslash", `a\`, Extended, "Trailing backslash"},
		{"backref", `(a)\2`, Extended, "Invalid back reference"},
		{"too big", "a{40000}", Extended, "Regular expression too big"},
		{"NUL", "a\x00", Extended, "string contains an embedded NUL byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.pattern, tc.flags)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Compile(%q) error %v, want %q", tc.pattern, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		flags   Flags
		subject string
		want    []int
	}{
		{"longest alternative", "a|ab", Extended, "xab", []int{1, 3}},
		{"groups", "(a|ab)(c|bcd)(d*)", Extended, "abcd", []int{0, 4, 0, 1, 1, 4, 4, 4}},
		{"unset group", "(a)|(b)", Extended, "b", []int{0, 1, -1, -1, 0, 1}},
		{"no match", "z", Extended, "abc", nil},
		{"newline anchors", "^b$", Extended | Newline, "a\nb\nc", []int{2, 3}},
		{"strict anchors", "^b$", Extended, "a\nb\nc", nil},
		{"dot newline", "a.b", Extended, "a\nb", []int{0, 3}},
		{"dot no newline", "a.b", Extended | Newline, "a\nb", nil},
		{"icase", "aBc", Extended | ICase, "xAbC", []int{1, 4}},
		{"bre", `\(ab\)\{2\}`, 0, "xabab", []int{1, 5, 3, 5}},
		{"byte offsets", "b", Extended, "\xc3\xa9b", []int{2, 3}},
		{"dot is one byte", "^..$", Extended, "\xc3\xa9", []int{0, 2}},
		{"high byte set", "[\x80-\xff]+", Extended, "a\xe9\xffb", []int{1, 3}},
		{"backref", `(a+)b\1`, Extended, "aabaa", []int{0, 5, 0, 2}},
		{"word start", `\<b`, Extended, "ab b", []int{3, 4}},
		{"empty pattern", "", Extended, "abc", []int{0, 0}},
		{"empty pattern empty subject", "", Extended, "", []int{0, 0}},
		{"large count", "a{1001}", Extended, strings.Repeat("a", 1002), []int{0, 1001}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re, err := Compile(tc.pattern, tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			got, err := re.FindSubmatchIndex(tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("FindSubmatchIndex(%q) = %v, want %v", tc.subject, got, tc.want)
			}
			idx, err := re.FindIndex(tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil && idx != nil || tc.want != nil && !slices.Equal(idx, tc.want[:2]) {
				t.Fatalf("FindIndex(%q) = %v, want %v", tc.subject, idx, tc.want)
			}
			ok, err := re.MatchString(tc.subject)
			if err != nil || ok != (tc.want != nil) {
				t.Fatalf("MatchString(%q) = %v, %v", tc.subject, ok, err)
			}
			if re.NumSubexp() != len(tc.want)/2-1 && tc.want != nil {
				t.Fatalf("NumSubexp() = %d", re.NumSubexp())
			}
		})
	}
}

func TestEngineChoice(t *testing.T) {
	for pattern, bt := range map[string]bool{
		`\.example\.(com|org)$`: false,
		`(a)\1`:                 true,
		`\<a`:                   false, // \b suffices before a word character
		`a\>`:                   false,
		`\<(a|b)`:               true,
		`(a)\>`:                 true,
		`\ba\B`:                 false,
		`a{1000}`:               false,
		`a{1001}`:               true,
	} {
		re := mustCompile(t, pattern, Extended)
		if re.Backtracking() != bt {
			t.Errorf("%q: Backtracking() = %v, want %v", pattern, re.Backtracking(), bt)
		}
		if re.String() != pattern {
			t.Errorf("String() = %q", re.String())
		}
	}
}

// TestTimeout: a catastrophic back-reference pattern (about 2^40 steps)
// stops at MatchTimeout with ErrTimeout instead of running away.
func TestTimeout(t *testing.T) {
	re := mustCompile(t, `(a*)*\1b`, Extended)
	subject := strings.Repeat("a", 40)
	_, err := re.FindSubmatchIndex(subject)
	if err != ErrTimeout {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if ok, err := re.MatchString(subject); ok || err != ErrTimeout {
		t.Fatalf("MatchString = %v, %v", ok, err)
	}
}

func TestCompat(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\d+`, `[0-9]+`},
		{`\D\w\W\s\S`, `[^0-9][a-zA-Z0-9_][^a-zA-Z0-9_][[:space:]][^[:space:]]`},
		{`\\d`, `\\d`},
		{`\.\(`, `\.\(`},
		{`a\`, `a\`},
		{`plain`, `plain`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Compat(tc.in); got != tc.want {
			t.Errorf("Compat(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzCompile: any pattern either fails with a glibc message or compiles,
// and then every entry point agrees on the overall match.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"a|ab", "(a*)*", `\(a\)\1`, "[[:alpha:]-z]", "[]a-]", "a{1,2}{3}", `\<x\>`, "^$", "[[.-.]]"} {
		f.Add(s, "xaab\nab", uint8(Extended|Newline))
		f.Add(s, "ab", uint8(0))
	}
	f.Fuzz(func(t *testing.T, pattern, subject string, flags uint8) {
		if len(pattern) > 64 || len(subject) > 64 {
			return
		}
		re, err := Compile(pattern, Flags(flags&15))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		sub, err1 := re.FindSubmatchIndex(subject)
		idx, err2 := re.FindIndex(subject)
		ok, err3 := re.MatchString(subject)
		if err1 != nil || err2 != nil || err3 != nil {
			return // timeout of a backtracking pattern
		}
		if len(sub) != 0 && len(sub) != 2*(re.NumSubexp()+1) {
			t.Fatalf("%d offsets for %d groups", len(sub), re.NumSubexp())
		}
		if (sub != nil) != ok || (idx != nil) != ok {
			t.Fatalf("disagree: sub %v idx %v ok %v", sub, idx, ok)
		}
		if sub != nil && !slices.Equal(sub[:2], idx) {
			t.Fatalf("overall %v vs %v", sub[:2], idx)
		}
		for i := 0; i < len(sub); i += 2 {
			if sub[i] > sub[i+1] || sub[i+1] > len(subject) || (sub[i] < 0) != (sub[i+1] < 0) {
				t.Fatalf("bad pair %d: %v", i/2, sub)
			}
		}
	})
}

func BenchmarkFindIndexHost(b *testing.B) {
	re := mustCompile(b, `\.example\.(com|org)$`, Extended|Newline)
	for b.Loop() {
		if idx, _ := re.FindIndex("www.example.org"); idx == nil {
			b.Fatal("no match")
		}
	}
}

func BenchmarkFindSubmatchIndexHost(b *testing.B) {
	re := mustCompile(b, `\.example\.(com|org)$`, Extended|Newline)
	for b.Loop() {
		if idx, _ := re.FindSubmatchIndex("www.example.org"); idx == nil {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchStringHostMiss(b *testing.B) {
	re := mustCompile(b, `\.example\.(com|org)$`, Extended|Newline)
	for b.Loop() {
		if ok, _ := re.MatchString("cdn.static.example.net"); ok {
			b.Fatal("match")
		}
	}
}

func BenchmarkCompileHost(b *testing.B) {
	for b.Loop() {
		mustCompile(b, `\.example\.(com|org)$`, Extended|Newline)
	}
}

func BenchmarkFindSubmatchIndexRepeatedGroup(b *testing.B) {
	re := mustCompile(b, `^([a-z0-9-]+\.)*s3\.example:443$`, Extended|Newline)
	for b.Loop() {
		if idx, _ := re.FindSubmatchIndex("a.b.cdn.s3.example:443"); idx == nil || idx[2] != 4 || idx[3] != 8 {
			b.Fatal("wrong match", idx)
		}
	}
}

// TestHugeRepeatCompiles: RE_DUP_MAX-sized repetitions of groups compile
// quickly (the submatch replay gives up instead of expanding them).
func TestHugeRepeatCompiles(t *testing.T) {
	for _, p := range []string{`((a|b){100}){32767}`, `(a{32767}){32767}`, `((ab)*c){1000,32767}`} {
		re, err := Compile(p, Extended)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := re.FindSubmatchIndex("abababc"); err != nil && err != ErrTimeout {
			t.Fatal(err)
		}
	}
}

func mustCompile(t testing.TB, pattern string, flags Flags) *Regexp {
	t.Helper()
	re, err := Compile(pattern, flags)
	if err != nil {
		t.Fatalf("Compile(%q): %v", pattern, err)
	}
	return re
}

// TestManyAnchorsCompile: the submatch replay refuses patterns whose state
// space would be large instead of allocating it.
func TestManyAnchorsCompile(t *testing.T) {
	re, err := Compile(`((^|$)a?){1000}`, Extended|Newline)
	if err != nil {
		t.Fatal(err)
	}
	if re.Backtracking() || re.posix != nil {
		t.Fatalf("backtracking %v, replay %v", re.Backtracking(), re.posix != nil)
	}
	if _, err := re.FindSubmatchIndex("aaa"); err != nil {
		t.Fatal(err)
	}
}
