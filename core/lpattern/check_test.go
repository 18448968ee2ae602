package lpattern

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ pat, err string }{
		{"", ""},
		{"^abc$", ""},
		{"[%w-]+%.test:(%d+)$", ""},
		{"()a()", ""},
		{"(a)%1", ""},
		{"%bxy", ""},
		{"%f[%w]x", ""},
		{"[]]", ""},
		{"[^%]]", ""},
		{"a$b", ""},
		{"a%", "malformed pattern (ends with '%')"},
		{"x[a-z", "malformed pattern (missing ']')"},
		{"x[%", "malformed pattern (missing ']')"},
		{"x%b", "malformed pattern (missing arguments to '%b')"},
		{"x%bx", "malformed pattern (missing arguments to '%b')"},
		{"x%fa", "missing '[' after '%f' in pattern"},
		{"x%f", "missing '[' after '%f' in pattern"},
		{"x)", "invalid pattern capture"},
		{"(x", "unfinished capture"},
		{"(x%1)", "invalid capture index %1"},
		{"x%0", "invalid capture index %0"},
		{"(x)%2", "invalid capture index %2"},
		{"()%1", ""},
	} {
		err := Check(tc.pat)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("Check(%q) = %q, want %q", tc.pat, got, tc.err)
		}
	}
}

// FuzzCheck: a pattern Check accepts never raises a pattern error when
// matched, and any error the matcher raises is one Check reports.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"^(%d+)%.(%a-)$", "[%w_]+", "%b()", "%f[%a]%a+", "(a)(b)%2%1", "a%", "(x"} {
		f.Add(s, "ab1.x(y)z")
	}
	f.Fuzz(func(t *testing.T, pat, src string) {
		if len(pat) > 64 || len(src) > 64 {
			return
		}
		cerr := Check(pat)
		var m Matcher
		m.Reset(src, pat)
		pi, anchor := 0, len(pat) > 0 && pat[0] == '^'
		if anchor {
			pi = 1
		}
		start, end, err := m.Scan(0, pi, anchor)
		if err == nil && start >= 0 {
			for i := 0; i < m.Captures() && err == nil; i++ {
				_, _, _, err = m.Capture(i, start, end)
			}
		}
		var pe *Error
		if err != nil && errors.As(err, &pe) && pe.Msg != "pattern too complex" {
			if cerr == nil {
				t.Fatalf("Check(%q) accepted it, but matching %q raised %q", pat, src, err)
			}
		}
	})
}
