package ere

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestReaderPathAgrees runs the differential corpus through the reader
// path the Stop variants take on long subjects, and compares every result
// with the plain search.
func TestReaderPathAgrees(t *testing.T) {
	stop := make(chan struct{})
	n := 0
	for _, c := range randomCases(1, 3000) {
		re, err := Compile(c.pattern, c.flags)
		if err != nil || re.bt != nil {
			continue
		}
		for _, s := range []string{c.subject, c.subject + "\x80\xffab", "\xe9" + c.subject} {
			want, _ := re.FindSubmatchIndex(s)
			got, err := re.findReaderSubmatch(s, stop)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%q on %q: reader %v %v, string %v", c.pattern, s, got, err, want)
			}
			n++
		}
	}
	t.Logf("%d searches compared", n)
}

func TestStopEndsALongSearch(t *testing.T) {
	re, err := Compile("[ab]{0,1000}c", Extended)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Repeat("a", 1<<20) // about a minute of work unstopped
	stop := make(chan struct{})
	close(stop)
	if _, err := re.FindIndexStop(s, stop); !errors.Is(err, ErrStopped) {
		t.Fatalf("FindIndexStop: %v", err)
	}
	if _, err := re.FindSubmatchIndexStop(s, stop); !errors.Is(err, ErrStopped) {
		t.Fatalf("FindSubmatchIndexStop: %v", err)
	}
	// an open channel changes nothing
	idx, err := re.FindIndexStop(strings.Repeat("x", 2000)+"abc", make(chan struct{}))
	if err != nil || !slices.Equal(idx, []int{2000, 2003}) {
		t.Fatalf("open stop: %v %v", idx, err)
	}
}
