package dsl

import (
	"regexp"
	"testing"
)

// declaredName is the rule validName implements, as the expression the
// checker used before it had the loop.
var declaredName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

var nameSeeds = []string{"", "a", "_", "-", "0", "a0", "a-b_c", "A_9-", "9a", "-a", "a.b", "a b", "a\n", "\na", "é", "aé", "a\x00", "route", "proxy_1"}

func TestValidName(t *testing.T) {
	for _, s := range nameSeeds {
		if got, want := validName(s), declaredName.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName(s), declaredName.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, want %v", s, got, want)
		}
	})
}
