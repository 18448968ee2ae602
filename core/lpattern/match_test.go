package lpattern

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStopEndsABacktrackingMatch(t *testing.T) {
	stop := make(chan struct{})
	close(stop)
	m := Matcher{Stop: stop}
	m.Reset(strings.Repeat("a", 3000), strings.Repeat("a-", 12)+"b")
	if _, err := m.MatchAt(0, 0); !errors.Is(err, ErrStopped) {
		t.Fatalf("err %v, want ErrStopped", err)
	}
	// the same matcher still works once reset
	m.Stop = nil
	m.Reset("key=value", "(%w+)=(%w+)")
	if e, err := m.MatchAt(0, 0); err != nil || e != 9 || m.Captures() != 2 {
		t.Fatalf("after a stop: end %d err %v captures %d", e, err, m.Captures())
	}
}

func TestErrorsAreLuaTexts(t *testing.T) {
	tests := []struct{ name, pat, want string }{
		{"trailing escape", "a%", "malformed pattern (ends with '%')"},
		{"open set", "[a", "malformed pattern (missing ']')"},
		{"frontier without set", "%fa", "missing '[' after '%f' in pattern"},
		{"balance without arguments", "%b(", "malformed pattern (missing arguments to '%b')"},
		{"back-reference to nothing", "%1", "invalid capture index %1"},
		{"back-reference zero", "%0", "invalid capture index %0"},
		{"close without open", "a)", "invalid pattern capture"},
		{"too many captures", strings.Repeat("(", 33), "too many captures"},
		{"too deep", strings.Repeat("a?", 201), "pattern too complex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Matcher
			m.Reset(strings.Repeat("a", 300), tc.pat)
			_, err := m.MatchAt(0, 0)
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg != tc.want {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzMatch matches arbitrary patterns against arbitrary subjects at every
// offset: no panic may escape, a match ends inside the subject and no
// earlier than it starts, and every capture lies inside the subject. The
// differential test against lua5.4 lives in stdlib (pattern_test.go).
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"hello world", "(o)(r)"},
		{"a(b(c)d)e", "%b()"},
		{"THE (quick) fox", "%f[%a]%a+"},
		{"abcabc", "(abc)%1"},
		{"  trim  ", "^%s*(.-)%s*$"},
		{"aaa", "()a%1"},
		{"x]", "[]]"},
		{"a-b", "[%w-]+$"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, src, pat string) {
		if len(src) > 64 {
			src = src[:64]
		}
		stop := make(chan struct{})
		tm := time.AfterFunc(100*time.Millisecond, func() { close(stop) }) // bounds, never asserts
		defer tm.Stop()
		m := Matcher{Stop: stop}
		m.Reset(src, pat)
		for si := 0; si <= len(src); si++ {
			e, err := m.MatchAt(si, 0)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) && !errors.Is(err, ErrStopped) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if e < 0 {
				continue
			}
			if e < si || e > len(src) {
				t.Fatalf("match at %d ends at %d (subject %d bytes)", si, e, len(src))
			}
			for i := range max(m.Captures(), 1) {
				text, pos, isPos, err := m.Capture(i, si, e)
				if err != nil {
					continue // an unfinished capture, reported as Lua does
				}
				if isPos && (pos < 1 || pos > len(src)+1) || !isPos && !strings.Contains(src, text) {
					t.Fatalf("capture %d out of the subject: %q %d", i, text, pos)
				}
			}
		}
	})
}
