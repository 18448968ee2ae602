package route

import (
	"slices"
	"testing"
)

func TestChainRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		hops []string
	}{
		{"empty", nil},
		{"one", []string{"socks5://a:1"}},
		{"commas and newlines stay inside a hop", []string{"http://u,v@h:1", "a\nb", ""}},
		{"long hop", []string{string(make([]byte, 300)), "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := MakeChain(tc.hops...)
			if got := c.Hops(); !slices.Equal(got, tc.hops) {
				t.Fatalf("Hops() = %q, want %q", got, tc.hops)
			}
			if c.Len() != len(tc.hops) {
				t.Fatalf("Len() = %d, want %d", c.Len(), len(tc.hops))
			}
			if c != MakeChain(tc.hops...) {
				t.Fatal("equal chains compare unequal")
			}
		})
	}
	if MakeChain("a", "b") == MakeChain("ab") {
		t.Fatal("different chains compare equal")
	}
}
